import type { Params } from '../http/parse-params.js';
import { ParameterError } from './parameter-error.js';
import type { Preset } from './preset.js';

/** The preset's parameter rules: required ones present, nothing outside `allowedParams`. */
export function checkPresetParams(preset: Preset, params: Params): void {
  for (const name of preset.requiredParams) {
    if (!params.has(name))
      throw new ParameterError(name, 'invalid_request', `The ${name} parameter is missing`);
  }
  if (preset.allowedParams === undefined) return;
  for (const name of params.keys()) {
    if (!preset.allowedParams.includes(name)) {
      throw new ParameterError(
        printableName(name),
        'invalid_request',
        `The ${printableName(name)} parameter is not accepted here`,
      );
    }
  }
}

/** A name safe to echo back. */
function printableName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : 'parameter';
}
