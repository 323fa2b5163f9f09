import { readFileSync } from 'node:fs';

/**
 * This package's version, from its package.json (src/ and dist/ both sit one level below it).
 * One version for every workspace: see CHANGELOG.md for how a release bumps them together.
 */
export const serverVersion: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;
