import { formUrlDecode } from '@tessera/protocol';
import type { SecretCredentials } from './credentials.js';
import { invalidClient } from './failure-reasons.js';

const base64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** RFC 6749 §2.3.1 `client_secret_basic`: parses `Authorization: Basic base64(id:secret)`. */
export function parseBasicAuthorization(header: string): SecretCredentials {
  const match = /^basic +(\S+) *$/i.exec(header);
  if (!match) throw invalidClient(true, 'malformed_basic', 'Authorization header is not Basic');
  const encoded = match[1]!;
  if (!base64.test(encoded))
    throw invalidClient(true, 'malformed_basic', 'Basic credentials are not base64');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient(true, 'malformed_basic', 'Basic credentials have no colon');
  const rawId = decoded.slice(0, colon);
  const rawSecret = decoded.slice(colon + 1);
  const clientId = formUrlDecode(rawId) ?? rawId;
  const secret = formUrlDecode(rawSecret) ?? rawSecret;
  if (clientId === '' || secret === '')
    throw invalidClient(true, 'malformed_basic', 'Basic credentials are empty');
  return {
    method: 'client_secret_basic',
    clientId,
    secret,
    ...(secret === rawSecret ? {} : { rawSecret }),
  };
}
