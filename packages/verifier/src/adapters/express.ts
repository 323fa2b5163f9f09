import type { ErrorResponse } from '../errors.js';
import type { VerifiedToken, Verifier, VerifyCallOptions } from '../verifier.js';
import { senderEvidenceOf, type SenderEvidenceOptions } from './sender-evidence.js';

/** The part of a Node/Express/Connect request the middleware uses. */
export interface ConnectRequestLike {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  /** Express: the URL before mount paths were stripped (what the client sent). */
  readonly originalUrl?: string | undefined;
  /** For the TLS client certificate of certificate-bound tokens. */
  readonly socket?: unknown;
  /** Set by the middleware once the token verified. */
  auth?: VerifiedToken;
}

/** The part of a Node `ServerResponse` the middleware uses. */
export interface ConnectResponseLike {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/** Options of {@link tesseraMiddleware}. */
export interface MiddlewareOptions extends VerifyCallOptions, SenderEvidenceOptions {
  /** Call `next(error)` with the `VerifierError` instead of answering. Default false. */
  forwardErrors?: boolean;
}

/** A Connect/Express middleware. */
export type ConnectMiddleware = (
  req: ConnectRequestLike,
  res: ConnectResponseLike,
  next: (error?: unknown) => void,
) => void;

/**
 * Express/Connect middleware (also plain `node:http` with a `next` callback): verifies the
 * bearer token, puts the result on `req.auth` and calls `next()`; otherwise answers with the
 * verifier's error response (RFC 6750 by default), or forwards the error with `forwardErrors`.
 * Sender-constrained tokens work as they are: the connection's client certificate and the
 * request's DPoP proof are passed on (see {@link senderEvidenceOf}; `clientCertificate` or
 * `dpop` in the options take precedence).
 *
 * @example
 * ```ts
 * app.get('/orders', tesseraMiddleware(verifier, { requiredScopes: ['orders:read'] }), (req, res) => …)
 * ```
 */
export function tesseraMiddleware(
  verifier: Verifier,
  options: MiddlewareOptions = {},
): ConnectMiddleware {
  const { forwardErrors = false, publicOrigin, ...callOptions } = options;
  const evidenceOptions = publicOrigin === undefined ? {} : { publicOrigin };
  return function tesseraAuth(req, res, next) {
    const evidence = senderEvidenceOf(
      {
        method: req.method,
        url: req.originalUrl ?? req.url,
        headers: req.headers,
        socket: req.socket,
      },
      evidenceOptions,
    );
    verifier.verifyAuthorization(req.headers.authorization, { ...evidence, ...callOptions }).then(
      (verified) => {
        req.auth = verified;
        next();
      },
      (error: unknown) => {
        if (forwardErrors || res.headersSent) next(error);
        else writeError(res, verifier.errorResponse(error));
      },
    );
  };
}

function writeError(res: ConnectResponseLike, response: ErrorResponse): void {
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.end(response.body === undefined ? undefined : JSON.stringify(response.body));
}
