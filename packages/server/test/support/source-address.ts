/**
 * Token requests from a chosen loopback source address (127.0.0.1, 127.0.0.2, …: all of
 * 127.0.0.0/8 is local on Linux), so a test can play an attacker and a victim on one machine.
 */
import { request } from 'node:http';
import { basicAuthorization } from '@tessera/protocol';

export interface PlainAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export function postFrom(
  localAddress: string,
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<PlainAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        agent: false,
        localAddress,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk));
        response.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(new URLSearchParams(form).toString());
  });
}

/** A client_credentials request with HTTP Basic from `localAddress`. */
export function tokenFrom(
  localAddress: string,
  baseUrl: string,
  clientId: string,
  secret: string,
  headers: Record<string, string> = {},
): Promise<PlainAnswer> {
  return postFrom(
    localAddress,
    `${baseUrl}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basicAuthorization(clientId, secret), ...headers },
  );
}
