import crypto from 'node:crypto';
import type { EnvVarSpec } from '../buildpacks/app-json.ts';
import { WidemeshError } from './errors.ts';

/** `{KEY: value}` sets, `{KEY: null}` unsets. */
export function applyChanges(
  config: Record<string, string>,
  changes: Record<string, string | null>,
): Record<string, string> {
  const next = { ...config };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

/**
 * app.json `env`: a variable the environment lacks takes its default value or a generated
 * secret; a required one without either refuses the deploy, naming every missing variable.
 */
export function withAppJsonEnv(
  config: Record<string, string>,
  specs: Record<string, EnvVarSpec>,
): { config: Record<string, string>; added: string[] } {
  const next = { ...config };
  const added: string[] = [];
  const missing: string[] = [];
  for (const [key, spec] of Object.entries(specs)) {
    if (key in next) continue;
    if (spec.value !== undefined) next[key] = spec.value;
    else if (spec.generator === 'secret') next[key] = crypto.randomBytes(32).toString('hex');
    else {
      if (spec.required) missing.push(key);
      continue;
    }
    added.push(key);
  }
  if (missing.length > 0) {
    const names = missing.join(', ');
    const message = `app.json requires config vars that are not set: ${names} (widemesh config:set ${missing[0]}=…)`;
    throw new WidemeshError('CONFIG_REQUIRED', message);
  }
  return { config: next, added };
}
