/**
 * One version scheme (issue 17): every workspace carries the root's version, every `@tessera/*`
 * dependency pins it, and changesets keeps the four packages one fixed group.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const read = (path: string) =>
  JSON.parse(readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8')) as {
    version: string;
    name: string;
    dependencies?: Record<string, string>;
    fixed?: string[][];
  };

describe('versions', () => {
  const root = read('package.json');
  const workspaces = ['protocol', 'verifier', 'client', 'server'].map((name) =>
    read(`packages/${name}/package.json`),
  );

  it('are one version across the workspaces and their @tessera/* pins', () => {
    for (const workspace of workspaces) {
      assert.equal(workspace.version, root.version, workspace.name);
      for (const [name, range] of Object.entries(workspace.dependencies ?? {}))
        if (name.startsWith('@tessera/'))
          assert.equal(range, root.version, `${workspace.name} → ${name}`);
    }
  });

  it('are bumped together by changesets (one fixed group of every package)', () => {
    const config = read('.changeset/config.json');
    assert.deepEqual(
      [...(config.fixed?.[0] ?? [])].sort(),
      workspaces.map((workspace) => workspace.name).sort(),
    );
  });
});
