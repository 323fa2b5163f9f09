const encoder = new TextEncoder();

/** UTF-8 bytes of `text`, then standard base64 (btoa alone rejects non-Latin-1 input). */
export function utf8Base64(text: string): string {
  let binary = '';
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Lowercase hex of a byte buffer. */
export function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** Unpadded base64url (RFC 4648 §5), as JOSE uses it (RFC 7515 §2). */
export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  let binary = '';
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 128 random bits, base64url: a `jti` that is unique without coordination. */
export function randomId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}
