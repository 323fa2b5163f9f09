import { parseBasicAuthorization as parseBasic } from '@tessera/protocol';
import type { SecretCredentials } from './credentials.js';
import { invalidClient } from './failure-reasons.js';

// Node's native decoder: the token endpoint's hot path (atob + TextDecoder cost more).
const decodeBase64 = (encoded: string) => Buffer.from(encoded, 'base64').toString('utf8');

/** RFC 6749 §2.3.1 `client_secret_basic`: parses `Authorization: Basic base64(id:secret)`. */
export function parseBasicAuthorization(header: string): SecretCredentials {
  const parsed = parseBasic(header, decodeBase64);
  if ('problem' in parsed) throw invalidClient(true, 'malformed_basic', parsed.problem);
  return { method: 'client_secret_basic', ...parsed };
}
