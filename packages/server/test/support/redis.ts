/**
 * Redis for tests: a test that needs it skips with a printed reason when none answers; with
 * TESSERA_TEST_REDIS=require the skip becomes a failure (as TESSERA_TEST_POSTGRES does).
 */
import { connect } from 'node:net';

export const redisUrl = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const redisRequired = process.env.TESSERA_TEST_REDIS === 'require';

/** Whether a TCP connection to `redisUrl` opens within a second. */
export function redisReachable(): Promise<boolean> {
  const { hostname, port } = new URL(redisUrl);
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** `undefined` when Redis answers; otherwise the reason to skip (or throws when required). */
export async function redisSkipReason(): Promise<string | undefined> {
  if (await redisReachable()) return undefined;
  const reason = `Redis at ${redisUrl} is not reachable; set TESSERA_TEST_REDIS_URL or start it`;
  if (redisRequired) throw new Error(`TESSERA_TEST_REDIS=require: ${reason}`);
  console.log(`# skipping: ${reason} (TESSERA_TEST_REDIS=require fails instead)`);
  return reason;
}
