import { OAuthError } from '@tessera/protocol';
import { createHash, X509Certificate } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** A client certificate presented with a request, directly over TLS or through a trusted proxy. */
export interface PresentedCertificate {
  certificate: X509Certificate;
  /**
   * Whether the certificate chains to a configured client CA and is within its validity
   * period: checked by the TLS layer for direct connections, here for forwarded ones.
   * `tls_client_auth` needs it; `self_signed_tls_client_auth` matches the certificate itself.
   */
  chainVerified: boolean;
  /** RFC 8705 §3.1 `x5t#S256`: base64url SHA-256 of the DER certificate. */
  thumbprint: string;
}

/** Where client certificates come from; built once from the configuration. */
export interface CertificateSource {
  /** Peers whose forwarded-certificate header is believed (addresses or CIDR subnets). */
  trustedProxies: BlockList;
  hasTrustedProxies: boolean;
  /** Lower-case header name carrying the URL-encoded PEM certificate (e.g. `x-client-cert`). */
  header: string;
  /** Client CAs, for checking forwarded certificates. */
  clientCas: X509Certificate[];
}

export function certificateSource(options: {
  trustedProxies: readonly string[];
  header: string;
  clientCaPem: string | undefined;
}): CertificateSource {
  const trustedProxies = new BlockList();
  for (const entry of options.trustedProxies) {
    const [address, prefix] = entry.split('/');
    const family = isIP(address ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trustedProxies.addAddress(address!, family);
    else trustedProxies.addSubnet(address!, Number(prefix), family);
  }
  return {
    trustedProxies,
    hasTrustedProxies: options.trustedProxies.length > 0,
    header: options.header.toLowerCase(),
    clientCas: options.clientCaPem === undefined ? [] : splitPem(options.clientCaPem),
  };
}

/** Every certificate in a PEM bundle. */
export function splitPem(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

export function certificateThumbprint(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('base64url');
}

function peerAddress(request: IncomingMessage): { address: string; family: 'ipv4' | 'ipv6' } {
  const raw = request.socket.remoteAddress ?? '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address: raw, family: isIP(raw) === 6 ? 'ipv6' : 'ipv4' };
}

/**
 * The client certificate of a request. A trusted proxy's forwarded header wins over the
 * proxy's own connection; from anyone else the header is ignored, so a client cannot claim
 * a certificate it does not hold.
 */
export function presentedCertificate(
  request: IncomingMessage,
  source: CertificateSource,
  nowSeconds: number,
): PresentedCertificate | undefined {
  if (source.hasTrustedProxies) {
    const forwarded = request.headers[source.header];
    const peer = peerAddress(request);
    if (forwarded !== undefined && source.trustedProxies.check(peer.address, peer.family)) {
      return forwardedCertificate(forwarded, source, nowSeconds);
    }
  }
  const socket = request.socket as Partial<TLSSocket>;
  if (!socket.encrypted || typeof socket.getPeerX509Certificate !== 'function') return undefined;
  const certificate = socket.getPeerX509Certificate();
  if (!certificate) return undefined;
  return {
    certificate,
    chainVerified: socket.authorized === true,
    thumbprint: certificateThumbprint(certificate),
  };
}

function forwardedCertificate(
  value: string | string[],
  source: CertificateSource,
  nowSeconds: number,
): PresentedCertificate {
  let certificate: X509Certificate;
  try {
    if (Array.isArray(value)) throw new Error('several headers');
    certificate = new X509Certificate(decodeURIComponent(value));
  } catch (cause) {
    throw new OAuthError('invalid_request', 'The forwarded client certificate is malformed', {
      detail: `forwarded certificate header: ${(cause as Error).message}`,
    });
  }
  // Without configured CAs the proxy's own verification is what the operator relies on.
  const chainVerified =
    source.clientCas.length === 0 ||
    (withinValidity(certificate, nowSeconds) &&
      source.clientCas.some(
        (ca) => certificate.checkIssued(ca) && certificate.verify(ca.publicKey),
      ));
  return { certificate, chainVerified, thumbprint: certificateThumbprint(certificate) };
}

function withinValidity(certificate: X509Certificate, nowSeconds: number): boolean {
  const from = Date.parse(certificate.validFrom) / 1000;
  const to = Date.parse(certificate.validTo) / 1000;
  return nowSeconds >= from && nowSeconds <= to;
}
