import { parseJsonWithComments } from './json-file.ts';
import { isProcessType } from './procfile.ts';
import { BuildpackError, type SourceTree } from './types.ts';

/** One check a new instance must pass before traffic moves (Dokku's app.json `healthchecks` format). */
export interface HealthCheck {
  /** HTTP path (web only); without one, the instance only has to stay up for `uptime` seconds. */
  path?: string;
  /** Text the answer must contain. */
  content?: string;
  /** Seconds before the first attempt. */
  initialDelay: number;
  /** Seconds one attempt may take. */
  timeout: number;
  attempts: number;
  /** Seconds between attempts. */
  wait: number;
  /** Seconds the instance must have stayed up. */
  uptime: number;
}

export interface EnvVarSpec {
  /** Used when the environment has no value of its own. */
  value?: string;
  /** A deploy without a value is refused (Heroku's default for a listed variable with no value). */
  required: boolean;
  /** `secret`: a random value is generated once. */
  generator?: 'secret';
}

/** What `app.json` (and Dokku's older `CHECKS` file) says about running the app. */
export interface AppManifest {
  /** Process type → instance count for the first deploy of each process type. */
  formation: Record<string, number>;
  /** Per process type: what one instance may use (formation.TYPE.memory in MiB, .cpus). */
  resources: Record<string, ResourceLimits>;
  healthchecks: Record<string, HealthCheck[]>;
  env: Record<string, EnvVarSpec>;
  scripts: { predeploy?: string; postdeploy?: string; firstDeploy?: string };
}

export interface ResourceLimits {
  memoryMb?: number;
  cpus?: number;
}

/** How many instances of one process type a formation may ask for. */
export const MAX_QUANTITY = 20;

const fail = (where: string, message: string): never => {
  throw new BuildpackError('APP_JSON_INVALID', `${where}: ${message}`);
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function count(v: unknown, where: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    return fail(where, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function text(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : fail(where, `must be a string, got ${JSON.stringify(v)}`);
}

function readFormation(raw: unknown): Pick<AppManifest, 'formation' | 'resources'> {
  if (raw === undefined) return { formation: {}, resources: {} };
  if (!isObject(raw)) return fail('app.json formation', 'must be an object of process types');
  const formation: Record<string, number> = {};
  const resources: Record<string, ResourceLimits> = {};
  for (const [type, spec] of Object.entries(raw)) {
    if (!isProcessType(type)) return fail(`app.json formation.${type.slice(0, 63)}`, 'is not a process type name');
    if (!isObject(spec)) return fail(`app.json formation.${type}`, 'must be an object like {"quantity": 1}');
    const where = `app.json formation.${type}`;
    formation[type] = count(spec.quantity, `${where}.quantity`, 0, MAX_QUANTITY, 1);
    const memoryMb = spec.memory === undefined ? undefined : count(spec.memory, `${where}.memory (MiB)`, 32, 65536, 0);
    const cpus = spec.cpus === undefined ? undefined : fraction(spec.cpus, `${where}.cpus`, 0.05, 64);
    if (memoryMb !== undefined || cpus !== undefined) resources[type] = { memoryMb, cpus };
  }
  return { formation, resources };
}

function fraction(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    return fail(where, `must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function readCheck(raw: unknown, where: string): HealthCheck {
  if (!isObject(raw)) return fail(where, 'must be an object');
  const path = text(raw.path, `${where}.path`);
  if (path !== undefined && !path.startsWith('/')) fail(`${where}.path`, 'must start with /');
  return {
    ...(path !== undefined ? { path } : {}),
    ...(raw.content !== undefined ? { content: text(raw.content, `${where}.content`) } : {}),
    initialDelay: count(raw.initialDelay, `${where}.initialDelay`, 0, 600, 0),
    timeout: count(raw.timeout, `${where}.timeout`, 1, 600, 5),
    attempts: count(raw.attempts, `${where}.attempts`, 1, 100, 5),
    wait: count(raw.wait, `${where}.wait`, 0, 600, 1),
    uptime: count(raw.uptime, `${where}.uptime`, 0, 600, 0),
  };
}

function readHealthchecks(raw: unknown): Record<string, HealthCheck[]> {
  if (raw === undefined) return {};
  if (!isObject(raw)) return fail('app.json healthchecks', 'must be an object of process types');
  const checks: Record<string, HealthCheck[]> = {};
  for (const [type, list] of Object.entries(raw)) {
    if (!Array.isArray(list)) fail(`app.json healthchecks.${type}`, 'must be a list of checks');
    checks[type] = (list as unknown[]).map((c, i) => readCheck(c, `app.json healthchecks.${type}[${i}]`));
  }
  return checks;
}

function readEnv(raw: unknown): Record<string, EnvVarSpec> {
  if (raw === undefined) return {};
  if (!isObject(raw)) return fail('app.json env', 'must be an object of variable names');
  const env: Record<string, EnvVarSpec> = {};
  for (const [key, spec] of Object.entries(raw)) {
    if (typeof spec === 'string') env[key] = { value: spec, required: false };
    else if (!isObject(spec)) fail(`app.json env.${key}`, 'must be a string or an object');
    else {
      const generator =
        spec.generator === undefined
          ? undefined
          : spec.generator === 'secret'
            ? 'secret'
            : fail(`app.json env.${key}.generator`, 'only "secret" is known');
      if (spec.required !== undefined && typeof spec.required !== 'boolean')
        fail(`app.json env.${key}.required`, 'must be true or false');
      const value = text(spec.value, `app.json env.${key}.value`);
      const required = spec.required === undefined ? value === undefined && !generator : spec.required === true;
      env[key] = { ...(value !== undefined ? { value } : {}), required, ...(generator ? { generator } : {}) };
    }
  }
  return env;
}

function readScripts(raw: unknown): AppManifest['scripts'] {
  if (raw === undefined) return {};
  if (!isObject(raw)) return fail('app.json scripts', 'must be an object');
  const dokku =
    raw.dokku === undefined
      ? {}
      : isObject(raw.dokku)
        ? raw.dokku
        : fail('app.json scripts.dokku', 'must be an object');
  const scripts: AppManifest['scripts'] = {};
  const predeploy = text(dokku.predeploy, 'app.json scripts.dokku.predeploy');
  const postdeploy = text(dokku.postdeploy, 'app.json scripts.dokku.postdeploy');
  const firstDeploy = text(raw.postdeploy, 'app.json scripts.postdeploy');
  if (predeploy) scripts.predeploy = predeploy;
  if (postdeploy) scripts.postdeploy = postdeploy;
  if (firstDeploy) scripts.firstDeploy = firstDeploy;
  return scripts;
}

/** Dokku's older CHECKS file: `WAIT=`, `TIMEOUT=`, `ATTEMPTS=` settings, then `/path expected content` lines. */
export function parseChecks(raw: string): HealthCheck[] {
  const settings: Record<string, number> = { WAIT: 5, TIMEOUT: 30, ATTEMPTS: 5 };
  const checks: { path: string; content?: string }[] = [];
  for (const line of raw.split(/\r?\n/).map((l) => l.trim())) {
    const setting = /^(WAIT|TIMEOUT|ATTEMPTS)=(\d+)$/.exec(line);
    if (setting) settings[setting[1]!] = Number(setting[2]);
    else if (line.startsWith('/')) {
      const [path, ...content] = line.split(/\s+/);
      checks.push({ path: path!, ...(content.length ? { content: content.join(' ') } : {}) });
    }
  }
  const timing = {
    initialDelay: settings.WAIT!,
    timeout: settings.TIMEOUT!,
    attempts: settings.ATTEMPTS!,
    wait: settings.WAIT!,
    uptime: 0,
  };
  return checks.map((c) => ({ ...c, ...timing }));
}

/** The source's app.json (comments and trailing commas allowed, as Dokku) and CHECKS as data; a clear APP_JSON_INVALID names the file, key and value. */
export function readAppManifest(src: SourceTree): AppManifest {
  const raw = src.readText('app.json');
  let json: unknown = {};
  if (raw !== undefined) {
    try {
      json = parseJsonWithComments(raw);
    } catch (err) {
      fail('app.json', `not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(json)) fail('app.json', 'must be a JSON object');
  }
  const o = json as Record<string, unknown>;
  const healthchecks = readHealthchecks(o.healthchecks);
  const checks = src.readText('CHECKS');
  if (checks !== undefined && !healthchecks.web) healthchecks.web = parseChecks(checks);
  return { ...readFormation(o.formation), healthchecks, env: readEnv(o.env), scripts: readScripts(o.scripts) };
}
