import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { ConfigError, type ServerConfig } from '../config.js';

/**
 * RFC 9325 (BCP 195) §4.2: TLS 1.3 suites, then TLS 1.2 AEAD suites with forward secrecy
 * (ECDHE with AES-GCM or ChaCha20-Poly1305). Nothing else is offered.
 */
export const bcp195Ciphers = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

function read(option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * `https.createServer` options for `--tls-cert`/`--tls-key`, or undefined for plain HTTP.
 * With `--tls-client-ca` the server asks for a client certificate but lets the handshake
 * succeed without a valid one (`rejectUnauthorized: false`), so the token endpoint can answer
 * with an OAuth error instead of a dropped connection (RFC 8705 §2).
 */
export function httpsOptions(config: ServerConfig): ServerOptions | undefined {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return undefined;
  const options: ServerOptions = {
    cert: read('--tls-cert', config.tlsCert),
    key: read('--tls-key', config.tlsKey),
    minVersion: 'TLSv1.2',
    ciphers: bcp195Ciphers,
    honorCipherOrder: true,
  };
  if (config.tlsClientCa !== undefined) {
    options.ca = read('--tls-client-ca', config.tlsClientCa);
    options.requestCert = true;
    options.rejectUnauthorized = false;
  }
  return options;
}

/** The client CA bundle's PEM, for checking certificates forwarded by a trusted proxy. */
export function clientCaPem(config: ServerConfig): string | undefined {
  return config.tlsClientCa === undefined ? undefined : read('--tls-client-ca', config.tlsClientCa);
}
