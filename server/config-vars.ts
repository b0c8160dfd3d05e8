import crypto from 'node:crypto';
import type { EnvVarSpec } from '../buildpacks/app-json.ts';
import { WidemeshError } from './errors.ts';

const CONFIG_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const RESERVED_KEYS = new Set(['PORT']);
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_CONFIG_VALUE = 32 * 1024;

/**
 * A config change as a client sends it (`{"KEY": "value"}` sets, `{"KEY": null}` unsets),
 * checked; INVALID_CONFIG says what is wrong.
 */
export function checkedConfigChanges(body: unknown): Record<string, string | null> {
  if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length === 0) {
    throw new WidemeshError(
      'INVALID_CONFIG',
      'send a JSON object of config vars: {"KEY": "value"} to set, {"KEY": null} to unset',
    );
  }
  const changes: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(body)) changes[key] = checkedChange(key, value);
  return changes;
}

function checkedChange(key: string, value: unknown): string | null {
  if (!CONFIG_KEY.test(key))
    throw new WidemeshError(
      'INVALID_CONFIG',
      `"${key.slice(0, 64)}" is not a valid config var name (letters, digits, underscores; not starting with a digit)`,
    );
  // JSON.parse keeps "__proto__" as a key, but assigning it to an object changes the prototype instead
  if (PROTOTYPE_KEYS.has(key))
    throw new WidemeshError('INVALID_CONFIG', `"${key}" cannot be a config var name (it is an object prototype key)`);
  if (RESERVED_KEYS.has(key))
    throw new WidemeshError('INVALID_CONFIG', `${key} is set by Widemesh and cannot be changed`);
  if (value !== null && typeof value !== 'string')
    throw new WidemeshError('INVALID_CONFIG', `the value of ${key} must be a string (or null to unset it)`);
  // a process environment cannot hold NUL: Docker would refuse the container later, with a raw error
  if (typeof value === 'string' && value.includes('\0'))
    throw new WidemeshError(
      'INVALID_CONFIG',
      `the value of ${key} contains a NUL character, which no environment can hold`,
    );
  if (typeof value === 'string' && value.length > MAX_CONFIG_VALUE)
    throw new WidemeshError('INVALID_CONFIG', `the value of ${key} is longer than ${MAX_CONFIG_VALUE} characters`);
  return value;
}

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
