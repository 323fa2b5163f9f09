/**
 * An ECDSA signature as JWS wants it (RFC 7518 §3.4): r and s as fixed-size big-endian
 * integers, concatenated. CKM_ECDSA is specified to return exactly that (PKCS#11 2.40 §2.3.1,
 * SoftHSM2 does), but some HSM libraries hand back the DER `SEQUENCE { INTEGER r, INTEGER s }`
 * that X.509 uses, so a DER signature is converted.
 */
export function ecdsaSignatureToJose(signature: Buffer, size: number): Buffer {
  if (signature.length === 2 * size) return signature;
  const fail = () =>
    new Error(`ECDSA signature of ${signature.length} bytes is neither r||s nor DER`);
  let offset = 0;
  const byte = () => {
    if (offset >= signature.length) throw fail();
    return signature[offset++]!;
  };
  const length = () => {
    const first = byte();
    if (first < 0x80) return first;
    if (first !== 0x81) throw fail();
    return byte();
  };
  if (byte() !== 0x30) throw fail();
  if (length() !== signature.length - offset) throw fail();
  const out = Buffer.alloc(2 * size);
  for (let part = 0; part < 2; part++) {
    if (byte() !== 0x02) throw fail();
    const n = length();
    let value = signature.subarray(offset, offset + n);
    if (value.length !== n) throw fail();
    offset += n;
    while (value.length > 0 && value[0] === 0) value = value.subarray(1);
    if (value.length > size) throw fail();
    value.copy(out, part * size + size - value.length);
  }
  if (offset !== signature.length) throw fail();
  return out;
}
