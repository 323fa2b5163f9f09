export { createVerifier } from './verifier.js';
export type { Verifier, VerifiedToken, VerifyCallOptions, RequestLike } from './verifier.js';
export { defaults } from './options.js';
export { dpopAlgorithms, dpopProofWindowSeconds } from './sender-constraint.js';
export type { SenderEvidence } from './sender-constraint.js';
export type { VerifierOptions, IntrospectionOptions, RevocationFeedOptions } from './options.js';
export { VerifierError, VerifierConfigError, rfc6750ErrorShape, reasons } from './errors.js';
export type {
  VerifierErrorCode,
  VerifierErrorReason,
  ErrorResponse,
  ErrorShape,
  VerifierErrorOptions,
} from './errors.js';
export type { VerifierEvent, VerifierEventListener } from './events.js';
export type { AccessTokenPayload } from './access-token.js';
export { supportedAlgorithms } from './algorithms.js';
export type { SupportedAlgorithm } from './algorithms.js';
export { tesseraFastify, tesseraHook } from './adapters/fastify.js';
export type {
  FastifyHook,
  FastifyHookOptions,
  FastifyInstanceLike,
  FastifyPluginLike,
  FastifyReplyLike,
  FastifyRequestLike,
} from './adapters/fastify.js';
export { tesseraMiddleware } from './adapters/express.js';
export type {
  ConnectMiddleware,
  ConnectRequestLike,
  ConnectResponseLike,
  MiddlewareOptions,
} from './adapters/express.js';
export { senderEvidenceOf } from './adapters/sender-evidence.js';
export type { IncomingLike, SenderEvidenceOptions } from './adapters/sender-evidence.js';
export { tesouroErrorShape } from './presets/tesouro.js';
