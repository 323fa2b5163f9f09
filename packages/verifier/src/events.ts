import type { VerifierErrorReason } from './errors.js';

/**
 * What the verifier reports through `onEvent`. Events never carry a token, a secret or an
 * Authorization header; `message` fields come from network errors, not from the peer's body.
 */
export type VerifierEvent =
  | { type: 'discovery'; metadataUri: string; jwksUri: string }
  | { type: 'discovery_error'; metadataUri: string; message: string }
  | {
      type: 'jwks_fetch';
      uri: string;
      trigger: 'initial' | 'expired' | 'unknown_kid';
      keys: number;
      /** Seconds the key set is kept, after clamping the server's `Cache-Control: max-age`. */
      maxAge: number;
      durationMs: number;
    }
  | { type: 'jwks_error'; uri: string; message: string; usingStaleKeys: boolean }
  | { type: 'jwks_refetch_throttled' }
  | { type: 'token_accepted'; cached: boolean }
  | { type: 'token_rejected'; reason: VerifierErrorReason; cached: boolean }
  | { type: 'revocation_sync'; added: number; total: number; durationMs: number }
  | { type: 'revocation_error'; message: string }
  | { type: 'introspection'; active: boolean; durationMs: number }
  | { type: 'introspection_error'; message: string };

/** Receives {@link VerifierEvent}s. Exceptions thrown by the listener are swallowed. */
export type VerifierEventListener = (event: VerifierEvent) => void;

/** Wraps a listener so a throwing listener can never break verification. */
export function safeEmitter(
  listener: VerifierEventListener | undefined,
): VerifierEventListener | undefined {
  if (listener === undefined) return undefined;
  return (event) => {
    try {
      listener(event);
    } catch {
      // A listener's bug must not turn a valid request into a failure.
    }
  };
}
