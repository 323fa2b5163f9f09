import { astrapay } from './astrapay.js';
import { contaSimples } from './conta-simples.js';
import { tesouro } from './tesouro.js';
import { treezor } from './treezor.js';

/**
 * Options for the seeded providers, to pass to `createTokenClient`. Each returns plain
 * {@link TokenClientOptions}: spread more options in, or override `fetch`, `store`, ….
 *
 * @example
 * ```ts
 * const client = createTokenClient(presets.astrapay({ clientId, clientSecret, scope: 'payments' }))
 * ```
 */
export const presets = { tesouro, contaSimples, treezor, astrapay } as const;

export type { PresetOptions } from './preset-options.js';
export { tesouroTokenRejected } from './tesouro.js';
