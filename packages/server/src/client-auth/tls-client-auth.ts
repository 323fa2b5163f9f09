import { calculateJwkThumbprint, type JWK } from 'jose';
import type { ClientRecord } from '../store/contract.js';
import type { PresentedCertificate } from '../tls/client-certificate.js';
import { invalidClient } from './failure-reasons.js';

/**
 * RFC 8705 §2.1 `tls_client_auth`: the certificate chains to a configured client CA and its
 * subject DN (or a DNS SAN) is the one registered. §2.2 `self_signed_tls_client_auth`: the
 * certificate (or its public key) is one the client registered; no chain is checked.
 */
export async function verifyTlsClient(
  client: ClientRecord,
  presented: PresentedCertificate,
): Promise<void> {
  const { certificate } = presented;
  if (client.authMethod === 'tls_client_auth') {
    if (!presented.chainVerified)
      throw invalidClient(
        false,
        'certificate_untrusted',
        'client certificate does not chain to a trusted client CA',
      );
    const { tlsSubjectDn, tlsSanDns } = client.authConfig;
    if (tlsSubjectDn !== undefined && sameDn(tlsSubjectDn, certificate.subject)) return;
    if (
      tlsSanDns !== undefined &&
      dnsNames(certificate.subjectAltName).has(tlsSanDns.toLowerCase())
    )
      return;
    throw invalidClient(
      false,
      'certificate_subject',
      'client certificate subject is not the registered one',
    );
  }
  if (client.authMethod === 'self_signed_tls_client_auth') {
    const keys = client.authConfig.jwks?.keys ?? [];
    const der = certificate.raw.toString('base64');
    let presentedThumbprint: string | undefined;
    for (const key of keys as JWK[]) {
      if (Array.isArray(key.x5c) && key.x5c.length > 0) {
        if (key.x5c[0] === der) return;
        continue;
      }
      presentedThumbprint ??= await calculateJwkThumbprint(
        certificate.publicKey.export({ format: 'jwk' }) as JWK,
      );
      if ((await calculateJwkThumbprint(key)) === presentedThumbprint) return;
    }
    throw invalidClient(
      false,
      'certificate_unregistered',
      'client certificate is not one the client registered',
    );
  }
  throw invalidClient(false, 'method_not_allowed', `client registered for ${client.authMethod}`);
}

/**
 * Compares an RFC 4514 DN (most specific RDN first, comma-separated) with node's
 * `X509Certificate.subject` (certificate order, one RDN per line). Either order is accepted
 * for the registered string; attribute types compare case-insensitively, values exactly.
 */
export function sameDn(registered: string, subject: string): boolean {
  const wanted = splitEscaped(registered, ',').map(normalizeRdn);
  const actual = subject.split('\n').map(normalizeRdn);
  if (wanted.length !== actual.length) return false;
  const forward = wanted.every((rdn, i) => rdn === actual[i]);
  return forward || wanted.every((rdn, i) => rdn === actual[actual.length - 1 - i]);
}

function normalizeRdn(rdn: string): string {
  const equals = rdn.indexOf('=');
  if (equals < 0) return rdn.trim();
  const type = rdn.slice(0, equals).trim().toUpperCase();
  const value = rdn
    .slice(equals + 1)
    .trim()
    .replace(/\\([0-9a-fA-F]{2}|.)/g, (_, c: string) =>
      c.length === 2 ? String.fromCharCode(parseInt(c, 16)) : c,
    );
  return `${type}=${value}`;
}

function splitEscaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\' && i + 1 < text.length) {
      current += char + text[++i]!;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function dnsNames(subjectAltName: string | undefined): Set<string> {
  const names = new Set<string>();
  for (const match of (subjectAltName ?? '').matchAll(/(?:^|, )DNS:([^,]+)/g))
    names.add(match[1]!.toLowerCase());
  return names;
}
