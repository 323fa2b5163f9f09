import { request } from 'node:https';

export interface TlsIdentity {
  cert?: string;
  key?: string;
}

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text: string;
  /** The negotiated protocol, e.g. TLSv1.3. */
  protocol: string | null;
}

/**
 * One HTTPS request over a fresh TLS connection (no agent, no session reuse), trusting `ca`
 * and presenting the client certificate in `identity` when given.
 */
export function httpsRequest(
  url: string,
  options: {
    ca: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    identity?: TlsIdentity;
  },
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: options.ca,
        agent: false,
        ...(options.identity ?? {}),
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          const socket = response.socket as { getProtocol?: () => string | null };
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body,
            text,
            protocol: socket.getProtocol?.() ?? null,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** POSTs a form over HTTPS. */
export function postFormTls(
  url: string,
  form: Record<string, string>,
  options: { ca: string; identity?: TlsIdentity; headers?: Record<string, string> },
): Promise<HttpsResult> {
  return httpsRequest(url, {
    ca: options.ca,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(options.headers ?? {}) },
    body: new URLSearchParams(form).toString(),
    ...(options.identity ? { identity: options.identity } : {}),
  });
}

/** The payload of a JWT, unverified: for asserting claims of tokens we just received. */
export function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** A `fetch` (GET/POST, small bodies) that trusts `ca` and can present a client certificate. */
export function fetchTrusting(ca: string, identity?: TlsIdentity): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
    const result = await httpsRequest(url, {
      ca,
      method: init?.method ?? 'GET',
      headers,
      ...(typeof init?.body === 'string' ? { body: init.body } : {}),
      ...(init?.body instanceof URLSearchParams ? { body: init.body.toString() } : {}),
      ...(identity ? { identity } : {}),
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(result.headers)) {
      if (value !== undefined) responseHeaders.set(name, ([] as string[]).concat(value).join(', '));
    }
    return new Response(result.status === 204 ? null : result.text, {
      status: result.status,
      headers: responseHeaders,
    });
  };
}
