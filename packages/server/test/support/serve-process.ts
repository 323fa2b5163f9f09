import { spawn, type ChildProcess } from 'node:child_process';
import { tesseraBin } from './cli.js';

/**
 * Starts `tessera serve --workers 1 --port 0 ARGS` as a real process (the built bin) and
 * resolves with its port, read from the "tessera listening" log line. The log keeps flowing
 * afterwards and is discarded. Used by the shutdown tests and by `npm run soak`.
 */
export async function spawnServe(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    [tesseraBin, 'serve', '--workers', '1', '--port', '0', ...args],
    {
      env: { ...env, TESSERA_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk;
      const match = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(buffer);
      if (match) {
        // Stop collecting: buffering the whole log slowed a 10-minute soak to a crawl.
        child.stdout!.off('data', onData);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  child.stdout!.resume();
  return { child, port };
}
