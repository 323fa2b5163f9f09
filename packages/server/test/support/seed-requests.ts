/**
 * Runs the request examples of a provider's documentation as written: the real `curl` binary
 * with the documented arguments (host and credential placeholders replaced), JavaScript
 * snippets as source text, and clients imported with the `tessera` CLI.
 */
import { spawn } from 'node:child_process';
import { runCli } from './cli.js';

/**
 * Splits a documented shell command into arguments the way POSIX `sh` does for what the seeds
 * use: single and double quotes, backslash-newline continuations, `#` comments. One repair:
 * Treezor writes `… \ # required` at line ends, which a shell reads as an escaped space, so
 * the command would end there; the author's intent (a continuation plus a comment) is kept.
 */
export function shellWords(command: string): string[] {
  const text = command.replace(/\\[ \t]+#[^\n]*\n/g, '\\\n');
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\' && text[i + 1] === '\n') {
      i++;
      continue;
    }
    if (char === '\n') {
      if (word !== undefined) words.push(word);
      word = undefined;
      if (words.length > 0) break;
      continue;
    }
    if (char === ' ' || char === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    }
    if (char === '#' && word === undefined) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      continue;
    }
    if (char === "'") {
      const end = text.indexOf("'", i + 1);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
      continue;
    }
    if (char === '"') {
      let value = '';
      for (i++; text[i] !== '"'; i++) {
        if (text[i] === '\\' && '"\\$`'.includes(text[i + 1]!)) i++;
        value += text[i];
      }
      word = (word ?? '') + value;
      continue;
    }
    if (char === '\\') {
      i++;
      word = (word ?? '') + text[i];
      continue;
    }
    word = (word ?? '') + char;
  }
  if (word !== undefined) words.push(word);
  return words;
}

export interface SeedResponse {
  status: number;
  headers: Headers;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
  text: string;
}

/** Replaces every occurrence of each key by its value. */
export function substitute(text: string, replacements: Record<string, string>): string {
  let result = text;
  for (const [from, to] of Object.entries(replacements)) result = result.split(from).join(to);
  return result;
}

/**
 * Runs a documented `curl …` command with the real curl binary: the arguments exactly as
 * documented after `replacements` (host, credentials), plus output options only
 * (`--silent --show-error --include`) so the answer can be read.
 */
export function runCurl(
  command: string,
  replacements: Record<string, string>,
): Promise<SeedResponse> {
  const [program, ...args] = shellWords(command).map((word) => substitute(word, replacements));
  if (program !== 'curl') throw new Error(`not a curl command: ${program}`);
  return new Promise((resolve, reject) => {
    const child = spawn('curl', [...args, '--silent', '--show-error', '--include'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`curl exited with ${code}: ${stderr}`));
      resolve(parseIncluded(Buffer.concat(out).toString('utf8')));
    });
  });
}

/** Reads curl's `--include` output: the last header block (after redirects) and the body. */
function parseIncluded(output: string): SeedResponse {
  let rest = output;
  let head = '';
  while (/^HTTP\/[\d.]+ \d{3}/.test(rest)) {
    const end = rest.indexOf('\r\n\r\n');
    head = rest.slice(0, end);
    rest = rest.slice(end + 4);
  }
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return {
    status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? '')?.[1]),
    headers,
    body: parseJson(rest),
    text: rest,
  };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Runs a documented JavaScript snippet's source as an async function body with the given
 * globals (`fetch`, `console`, `require`, …) and returns what it passed to `console.log`.
 */
export async function runSnippet(
  source: string,
  globals: Record<string, unknown>,
): Promise<unknown[][]> {
  const logged: unknown[][] = [];
  const console = { log: (...values: unknown[]) => logged.push(values) };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
    ...args: string[]
  ) => (...values: unknown[]) => Promise<unknown>;
  const names = ['console', ...Object.keys(globals)];
  await new AsyncFunction(...names, source)(console, ...Object.values(globals));
  return logged;
}

/** `tessera clients create --client-id ID --client-secret SECRET`: imports an existing client. */
export async function importClient(
  database: string,
  client: { clientId: string; clientSecret: string; scope?: string; tokenTtl?: number },
): Promise<void> {
  const result = await runCli([
    'clients',
    'create',
    '--name',
    `imported ${client.clientId}`,
    '--client-id',
    client.clientId,
    '--client-secret',
    client.clientSecret,
    ...(client.scope === undefined ? [] : ['--scope', client.scope]),
    ...(client.tokenTtl === undefined ? [] : ['--token-ttl', String(client.tokenTtl)]),
    '--json',
    '--database',
    database,
  ]);
  if (result.status !== 0) throw new Error(`clients create failed: ${result.stderr}`);
}
