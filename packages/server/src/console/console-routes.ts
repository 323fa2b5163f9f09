import { readdirSync, readFileSync } from 'node:fs';
import type { Answer, Endpoint } from '../endpoints/endpoint.js';

/** The console's files, beside `src/` and `dist/` in the package (two levels up from here). */
const assetDirectory = new URL('../../console/', import.meta.url);

/**
 * What is served, by extension: the page, its style, its ES modules (a module script is refused
 * by the browser unless its type is JavaScript) and the icon. Nothing else in the folder
 * (tsconfig.json) is served.
 */
const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const contentTypeOf = (name: string): string | undefined =>
  /^[a-z][a-z0-9-]*\.[a-z]+$/.test(name)
    ? contentTypes[name.slice(name.lastIndexOf('.'))]
    : undefined;

/** Scripts and styles from this origin only: no inline code, no framing, no other hosts. */
export const consoleSecurityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
    "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

/**
 * Serves the admin console: a few static files read once at start-up. The page signs in
 * with an admin client's credentials at the token endpoint (the token stays in the page), or
 * sends a person to the company's identity provider (sign-in-endpoints.ts), whose session the
 * server holds.
 */
export function consoleEndpoints(): Endpoint[] {
  const files = new Map<string, { body: Buffer; type: string }>();
  let names: string[] = [];
  try {
    names = readdirSync(assetDirectory);
  } catch {
    // No console folder: every console path answers 404; the API keeps working without it.
  }
  for (const name of names) {
    const type = contentTypeOf(name);
    if (type) files.set(name, { body: readFileSync(new URL(name, assetDirectory)), type });
  }
  const send = (name: string): Answer => {
    const file = files.get(name);
    if (!file) {
      return {
        status: 404,
        body: { error: 'not_found', error_description: 'No such console file' },
      };
    }
    return {
      status: 200,
      headers: { ...consoleSecurityHeaders, 'content-type': file.type },
      body: file.body,
    };
  };
  return [
    {
      method: 'GET',
      paths: ['/console'],
      summary:
        'The admin console (HTML); signs in people at /console/sign-in or an admin client at /oauth/token',
      caller: 'none',
      responses: { 200: { description: 'The console page', type: 'text/html' } },
      handle: () => send('index.html'),
    },
    {
      method: 'GET',
      paths: ['/console/:asset'],
      summary: "The console's static files: the page, its style, its ES modules, the icon",
      caller: 'none',
      responses: { 200: { description: 'The file', type: '*/*' }, 404: 'not_found' },
      handle: (request) => {
        const asset = request.path?.asset ?? '';
        return send(asset === '' ? 'index.html' : asset);
      },
    },
  ];
}
