import { formUrlEncode, utf8Base64 } from '@tessera/protocol';

/**
 * Builds a function that removes every spelling of `secret` we could have sent (raw,
 * percent-encoded, form-encoded, inside a Basic credential) from text a peer sent back, so an
 * endpoint that echoes its input cannot leak the secret into an error.
 */
export function secretRedactor(clientId: string, secret: string): (text: string) => string {
  if (secret === '') return (text) => text;
  const spellings = new Set([
    secret,
    encodeURIComponent(secret),
    formUrlEncode(secret),
    utf8Base64(`${clientId}:${secret}`),
    utf8Base64(`${formUrlEncode(clientId)}:${formUrlEncode(secret)}`),
    JSON.stringify(secret).slice(1, -1),
  ]);
  const sorted = [...spellings].filter((s) => s !== '').sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const s of sorted) out = out.split(s).join('[REDACTED]');
    return out;
  };
}
