import { OAuthError, type OAuthErrorCode } from '@tessera/protocol';

/**
 * An {@link OAuthError} about one named request parameter, so a preset's error shaper can
 * point at the field (Conta Simples' `details[].field`, AstraPay's per-parameter messages).
 * On RFC paths it is an ordinary OAuthError.
 */
export class ParameterError extends OAuthError {
  constructor(
    readonly parameter: string,
    error: OAuthErrorCode,
    description: string,
  ) {
    super(error, description);
  }
}
