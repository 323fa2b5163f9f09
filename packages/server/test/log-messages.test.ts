/**
 * Every warn and error log message in the server's source is documented in the README's
 * table of messages an operator may alert on, so a new or reworded one cannot slip past it.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const readme = fileURLToPath(new URL('../../../README.md', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? sources(join(dir, entry.name))
        : Promise.resolve(entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []),
    ),
  );
  return files.flat();
}

/** `log.warn(…, 'message')` / `logger.error('message')`: the message literal of each call. */
const logCall = /\.(?:warn|error)\(\s*(?:\{[^{}]*\}\s*,\s*)?(['"`])((?:(?!\1).)+)\1\s*,?\s*\)/gs;
/** `every(ms, task, 'what')`: the names that `${what} failed` is written with. */
const everyCall = /\bevery\(\s*[\d_]+,[\s\S]*?,\s*'([^']+)',?\s*\)/g;

describe('log messages', () => {
  it('documents every warn and error message in the README', async () => {
    const documented = await readFile(readme, 'utf8');
    const messages = new Set<string>();
    for (const file of await sources(src)) {
      const text = await readFile(file, 'utf8');
      const tasks = [...text.matchAll(everyCall)].map((match) => match[1]!);
      for (const [, , message] of text.matchAll(logCall)) {
        if (message!.includes('${what}')) {
          for (const task of tasks) messages.add(message!.replace('${what}', task));
        } else messages.add(message!);
      }
    }
    assert.ok(messages.size >= 15, [...messages].join('\n'));
    const missing = [...messages].filter((message) => !documented.includes(`\`${message}\``));
    assert.deepEqual(missing, []);
  });
});
