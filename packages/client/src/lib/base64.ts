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
