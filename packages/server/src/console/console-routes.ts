import { readFileSync } from 'node:fs';
import { type Answer, type Endpoint } from '../endpoints/endpoint.js';

/** The console's files, beside `src/` and `dist/` in the package (two levels up from here). */
const assetDirectory = new URL('../../console/', import.meta.url);

const assets: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

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
 * with an admin client's credentials at the token endpoint and calls the admin API with the
 * token it gets; the server holds no console session.
 */
export function consoleEndpoints(): Endpoint[] {
  const files = new Map<string, Buffer>();
  for (const name of Object.keys(assets)) {
    try {
      files.set(name, readFileSync(new URL(name, assetDirectory)));
    } catch {
      // Missing files answer 404 below; the API keeps working without the console.
    }
  }
  const send = (name: string): Answer => {
    const file = files.get(name);
    const type = assets[name];
    if (!file || !type) {
      return {
        status: 404,
        body: { error: 'not_found', error_description: 'No such console file' },
      };
    }
    return {
      status: 200,
      headers: { ...consoleSecurityHeaders, 'content-type': type },
      body: file,
    };
  };
  return [
    {
      method: 'GET',
      paths: ['/console'],
      summary: 'The admin console (HTML); signs in with an admin client at /oauth/token',
      caller: 'none',
      responses: { 200: { description: 'The console page', type: 'text/html' } },
      handle: () => send('index.html'),
    },
    {
      method: 'GET',
      paths: ['/console/:asset'],
      summary: "The console's static files (index.html, console.css, console.js, favicon.svg)",
      caller: 'none',
      responses: { 200: { description: 'The file', type: '*/*' }, 404: 'not_found' },
      handle: (request) => {
        const asset = request.path?.asset ?? '';
        return send(asset === '' ? 'index.html' : asset);
      },
    },
  ];
}
