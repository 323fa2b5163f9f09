import { astrapay } from './astrapay.js';
import { contaSimples } from './conta-simples.js';
import type { Preset } from './preset.js';
import { tesouro } from './tesouro.js';
import { treezor } from './treezor.js';

/** Every provider dialect `--preset` accepts, by name. Adding one is one file plus a line here. */
export const presets: ReadonlyMap<string, Preset> = new Map<string, Preset>(
  [tesouro, contaSimples, treezor, astrapay].map((preset) => [preset.name, preset]),
);

export function findPreset(name: string): Preset {
  const preset = presets.get(name);
  if (!preset) {
    const known = [...presets.keys()];
    throw new Error(
      `unknown preset ${JSON.stringify(name)}; known presets: ${known.length ? known.join(', ') : 'none yet'}`,
    );
  }
  return preset;
}
