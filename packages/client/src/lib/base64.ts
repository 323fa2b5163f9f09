import { base64url } from '@tessera/protocol';

const encoder = new TextEncoder();

/** Lowercase hex of a byte buffer. */
export function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/** 128 random bits, base64url: a `jti` that is unique without coordination. */
export function randomId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}
