/**
 * RFC 6749 §2.3.1: client_id and client_secret are each encoded with
 * application/x-www-form-urlencoded before being joined by ':' and base64-encoded.
 */
export function formUrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/%20/g, '+')
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Inverse of {@link formUrlEncode}; `undefined` for malformed percent-encoding. */
export function formUrlDecode(value: string): string | undefined {
  // Most ids and secrets contain neither: skip the copy and the decoder.
  if (!value.includes('%') && !value.includes('+')) return value;
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Builds an `Authorization: Basic …` value per RFC 6749 §2.3.1. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const raw = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`;
  return `Basic ${btoa(raw)}`;
}

/** What {@link parseBasicAuthorization} read from an `Authorization: Basic …` header. */
export interface BasicCredentials {
  clientId: string;
  secret: string;
  /**
   * The secret exactly as sent, when it differs from the form-urlencoding-decoded one. Many
   * clients skip RFC 6749 §2.3.1's encoding step; a server may try the raw value second.
   */
  rawSecret?: string;
  /**
   * The client_id exactly as sent, when it differs from the decoded one (a `+` sent
   * unencoded by axios `auth:` or Python requests decodes to a space). A server may look the
   * raw value up when the decoded one names no client.
   */
  rawClientId?: string;
}

const basicHeader = /^basic +(\S+) *$/i;
const base64Alphabet = /^[A-Za-z0-9+/]+={0,2}$/;

/** Standard base64 to UTF-8 text with `atob` (invalid UTF-8 becomes U+FFFD, as in `Buffer`). */
export function decodeBase64Utf8(encoded: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)));
}

/**
 * Parses `Authorization: Basic base64(id:secret)` (RFC 7617 §2, with RFC 6749 §2.3.1's
 * form-urlencoding of each part undone; a part that is not valid percent-encoding is kept as
 * sent). Returns the credentials, or `{ problem }` saying (for logs) what is wrong. `decode`
 * turns the base64 into text: `atob` by default; a server may pass a faster native one.
 *
 * @example
 * ```ts
 * const parsed = parseBasicAuthorization(request.headers.get('authorization') ?? '');
 * if ('problem' in parsed) refuse(parsed.problem);
 * ```
 */
export function parseBasicAuthorization(
  header: string,
  decode: (base64: string) => string = decodeBase64Utf8,
): BasicCredentials | { problem: string } {
  const match = basicHeader.exec(header);
  if (!match) return { problem: 'Authorization header is not Basic' };
  const encoded = match[1]!;
  let decoded: string | undefined;
  if (base64Alphabet.test(encoded)) {
    try {
      decoded = decode(encoded);
    } catch {
      decoded = undefined;
    }
  }
  if (decoded === undefined) return { problem: 'Basic credentials are not base64' };
  const colon = decoded.indexOf(':');
  if (colon < 0) return { problem: 'Basic credentials have no colon' };
  const rawId = decoded.slice(0, colon);
  const rawSecret = decoded.slice(colon + 1);
  const clientId = formUrlDecode(rawId) ?? rawId;
  const secret = formUrlDecode(rawSecret) ?? rawSecret;
  if (clientId === '' || secret === '') return { problem: 'Basic credentials are empty' };
  return {
    clientId,
    secret,
    ...(secret === rawSecret ? {} : { rawSecret }),
    ...(clientId === rawId ? {} : { rawClientId: rawId }),
  };
}
