import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ClientAuthError,
  clientAuthFailures,
  type ClientAuthFailureReason,
} from '../src/client-auth/failure-reasons.js';
import { failureReason } from '../src/metrics/http-metrics.js';

// Like fastify's test/internals/errors.test.js: the reason table, the code that throws, the
// metric labels and the README say the same thing, or this fails.

const root = fileURLToPath(new URL('../../..', import.meta.url));
const sourceDir = join(root, 'packages/server/src');
const reasons = Object.keys(clientAuthFailures) as ClientAuthFailureReason[];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

async function readme(): Promise<string> {
  return readFile(join(root, 'README.md'), 'utf8');
}

/** The README's reason table: reason → [metric label, meaning]. */
function readmeReasons(text: string): Map<string, [string, string]> {
  const rows = new Map<string, [string, string]>();
  for (const match of text.matchAll(/^\| `([a-z_]+)` +\| `([a-z_]+)` +\| (.+?) +\|$/gm))
    rows.set(match[1]!, [match[2]!, match[3]!]);
  return rows;
}

describe('client authentication failure reasons', () => {
  it('are each thrown somewhere in the server, and only those in the table are thrown', async () => {
    const thrown = new Set<string>();
    for (const file of await sourceFiles(sourceDir)) {
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(/invalidClient\(\s*[^,]+,\s*'([a-z_]+)'/g))
        thrown.add(match[1]!);
      for (const match of text.matchAll(/new ClientAuthError\(\s*'([a-z_]+)'/g))
        thrown.add(match[1]!);
    }
    assert.deepEqual([...thrown].sort(), [...reasons].sort());
  });

  it('give the metric label in the table, and invalid_client on the wire but for locked_out', () => {
    for (const reason of reasons) {
      const error = new ClientAuthError(reason, reason === 'locked_out' ? { status: 429 } : {});
      assert.equal(failureReason(error), clientAuthFailures[reason].metric, reason);
      assert.equal(
        error.error,
        reason === 'locked_out' ? 'temporarily_unavailable' : 'invalid_client',
      );
      assert.deepEqual(
        error.toJSON(),
        reason === 'locked_out'
          ? { error: 'temporarily_unavailable', error_description: 'Client authentication failed' }
          : { error: 'invalid_client', error_description: 'Client authentication failed' },
      );
    }
  });

  it('are what the README documents, reason by reason, label by label', async () => {
    const text = await readme();
    const documented = readmeReasons(text);
    assert.deepEqual([...documented.keys()].sort(), [...reasons].sort());
    for (const reason of reasons) {
      const [label, meaning] = documented.get(reason)!;
      assert.equal(label, clientAuthFailures[reason].metric, `README label of ${reason}`);
      assert.equal(meaning, clientAuthFailures[reason].doc, `README meaning of ${reason}`);
    }
    // The metrics table lists exactly the labels the reasons map to.
    const row = /^\| `tessera_client_auth_failures_total` .*\| `reason`: (.+?) +\|$/m.exec(text);
    assert.ok(row, 'README lists tessera_client_auth_failures_total');
    const listed = [...row[1]!.matchAll(/`([a-z_]+)`/g)].map((match) => match[1]!);
    const labels = new Set(reasons.map((reason) => clientAuthFailures[reason].metric));
    assert.deepEqual([...new Set(listed)].sort(), [...labels].sort());
  });

  it('are never recovered from message text', async () => {
    for (const file of await sourceFiles(sourceDir)) {
      const text = await readFile(file, 'utf8');
      assert.doesNotMatch(
        text,
        /\bdetail\b[^\n;]{0,20}(?:(?:===|!==)\s*['"`]|\.(?:startsWith|includes|endsWith|match)\()/,
        `${file} reads an error's text to decide something`,
      );
    }
  });
});
