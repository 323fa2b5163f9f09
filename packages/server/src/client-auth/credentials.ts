import type { ClientAuthMethod } from '@tessera/protocol';
import type { PresentedCertificate } from '../tls/client-certificate.js';

/** Credentials pulled from a request, before anything is looked up. */
export type PresentedCredentials =
  SecretCredentials | AssertionCredentials | CertificateCredentials;

/** RFC 7523 §2.2 `private_key_jwt`: a signed JWT in `client_assertion`. */
export interface AssertionCredentials {
  method: 'private_key_jwt';
  /** The assertion's `sub` (= `iss`), read before its signature is checked. */
  clientId: string;
  assertion: string;
  /**
   * Set when the assertion is not the client's own (`iss` ≠ `sub`, or `client_id` ≠ `sub`)
   * and a `client_id` was sent beside it: only a `federated` client may take such an
   * assertion (a workload's JWT, issue 25); any other client gets this refusal, as before.
   */
  notOwn?: Error;
}

/**
 * RFC 8705 §2: `client_id` in the body and a TLS client certificate; whether it is
 * `tls_client_auth` or `self_signed_tls_client_auth` is the client's registration.
 */
export interface CertificateCredentials {
  method: 'tls';
  clientId: string;
  certificate: PresentedCertificate;
}

export interface SecretCredentials {
  method: Extract<ClientAuthMethod, 'client_secret_basic' | 'client_secret_post'>;
  clientId: string;
  secret: string;
  /**
   * For Basic: the secret exactly as sent, when it differs from the form-urlencoding-decoded
   * one. Many clients skip RFC 6749 §2.3.1's encoding step; trying the raw value second keeps
   * them working without weakening anything (both still need the secret).
   */
  rawSecret?: string;
  /** For Basic: the client_id as sent, when it differs from the decoded one (raw fallback). */
  rawClientId?: string;
}
