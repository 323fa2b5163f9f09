import { readFile } from 'node:fs/promises';
import type { ClientClaims } from '../store/contract.js';
import { UsageError } from './usage.js';

/** `clients create` and `clients update` options for a client's extra token claims. */
export const claimOptions = {
  claim: { type: 'string', multiple: true },
  'claims-file': { type: 'string' },
} as const;

/** `--claim KEY=VALUE`: VALUE as JSON when it parses as JSON, else as a string. */
export function parseClaim(text: string): [string, unknown] {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new UsageError(`--claim takes KEY=VALUE, got ${JSON.stringify(text)}`);
  const raw = text.slice(equals + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return [text.slice(0, equals), value];
}

/** The claims object of `--claims-file FILE` (a JSON object; the registry checks the rest). */
export async function readClaimsFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--claims-file: cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--claims-file: ${path} is not JSON`);
  }
}

/**
 * The claims the options give: the file's object (it replaces), then each `--claim` on top,
 * then each `--unset-claim` removed. `base` is what they change (the client's current claims
 * on update); undefined when no option is given, so nothing changes.
 */
export async function claimsInput(
  values: {
    claim?: string[] | undefined;
    'claims-file'?: string | undefined;
    'unset-claim'?: string[] | undefined;
  },
  base: ClientClaims = {},
): Promise<unknown> {
  const { claim = [], 'unset-claim': unset = [] } = values;
  const file = values['claims-file'];
  if (file === undefined && claim.length === 0 && unset.length === 0) return undefined;
  const fromFile = file === undefined ? base : await readClaimsFile(file);
  if (claim.length === 0 && unset.length === 0) return fromFile;
  if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) return fromFile; // the registry refuses it, naming what is wrong
  const claims: Record<string, unknown> = { ...(fromFile as Record<string, unknown>) };
  for (const [name, value] of claim.map(parseClaim)) claims[name] = value;
  for (const name of unset) delete claims[name];
  return claims;
}
