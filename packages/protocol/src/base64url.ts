/**
 * Unpadded base64url (RFC 4648 §5), as JOSE uses it (RFC 7515 §2), over WebCrypto-era globals
 * only (`btoa`/`atob`), so the client and verifier run on Node, Deno, Bun and edge runtimes.
 * The server's hot paths use `Buffer`'s native `'base64url'` encoding instead.
 */
export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  let binary = '';
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Standard base64 (RFC 4648 §4) of `text`'s UTF-8 bytes (`btoa` alone refuses non-Latin-1). */
export function utf8Base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The bytes of standard base64 (RFC 4648 §4); whitespace is ignored, anything else throws. */
export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replace(/\s+/g, '')), (c) => c.charCodeAt(0));
}

/** base64url of SHA-256 over `text`'s UTF-8 bytes: RFC 9449 §4.2 `ath`, RFC 7638 thumbprints. */
export async function sha256Base64url(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return base64url(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}
