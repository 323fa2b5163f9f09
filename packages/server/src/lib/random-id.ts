import { randomFillSync } from 'node:crypto';

const poolSize = 16 * 256;
const pool = Buffer.alloc(poolSize);
let offset = poolSize;

/**
 * 128 random bits as base64url, from a pool refilled 4 KiB at a time: `randomBytes(16)` per
 * token cost ~5 % of the token endpoint's event-loop time (one syscall-backed fill per call).
 * node:crypto's randomUUID pools the same way.
 */
export function randomId128(): string {
  if (offset + 16 > poolSize) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + 16);
  offset += 16;
  return id;
}
