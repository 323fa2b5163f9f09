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
