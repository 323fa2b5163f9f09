import type { IncomingMessage } from 'node:http';

/** RFC 6265 §5.4: the Cookie header's name=value pairs (the first of a repeated name wins). */
export function readCookies(request: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  const header = request.headers.cookie;
  if (typeof header !== 'string') return cookies;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at < 1) continue;
    const name = pair.slice(0, at).trim();
    if (!cookies.has(name)) cookies.set(name, pair.slice(at + 1).trim());
  }
  return cookies;
}

export interface CookieOptions {
  httpOnly?: boolean;
  secure: boolean;
  sameSite: 'Strict' | 'Lax';
  path: string;
  /** Seconds; 0 deletes the cookie; absent makes it a session cookie. */
  maxAge?: number;
}

/** A `Set-Cookie` value (RFC 6265 §4.1); values are base64url, which needs no quoting. */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${value}`,
    `Path=${options.path}`,
    ...(options.maxAge === undefined ? [] : [`Max-Age=${options.maxAge}`]),
    ...(options.httpOnly ? ['HttpOnly'] : []),
    ...(options.secure ? ['Secure'] : []),
    `SameSite=${options.sameSite}`,
  ].join('; ');
}
