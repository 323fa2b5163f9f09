import { basicAuthorization, utf8Base64 } from '@tessera/protocol';

/**
 * `Authorization: Basic …` for a client: RFC 6749 §2.3.1 (form-urlencode each part, then
 * base64) or, for providers that document it, plain `base64(id:secret)`.
 */
export function basicCredential(
  clientId: string,
  secret: string,
  encoding: 'form-urlencoded' | 'plain',
): string {
  return encoding === 'plain'
    ? `Basic ${utf8Base64(`${clientId}:${secret}`)}`
    : basicAuthorization(clientId, secret);
}
