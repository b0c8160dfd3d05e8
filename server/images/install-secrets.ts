import { type BuildPlan, INSTALL_SECRETS_PATH } from '../../buildpacks/index.ts';
import { WidemeshError } from '../errors.ts';

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * The config vars a Node install expands (`${VAR}` in .npmrc), as a shell file the Dockerfile's build
 * stage sources. Only the vars named are written; the stage holding the file does not ship.
 */
export function installSecretFiles(plan: BuildPlan, config: Record<string, string>): Record<string, string> {
  if (plan.buildpack !== 'node' || plan.installSecrets.length === 0) return {};
  const missing = plan.installSecrets.filter((name) => !(name in config));
  if (missing.length > 0)
    throw new WidemeshError(
      'CONFIG_VAR_MISSING',
      `the app's .npmrc reads ${missing.map((n) => `\${${n}}`).join(', ')}: set ${missing.length === 1 ? 'it' : 'them'} with widemesh config:set ${missing.map((n) => `${n}=…`).join(' ')}`,
    );
  const lines = plan.installSecrets.map((name) => `export ${name}=${shellQuote(config[name]!)}`);
  return { [INSTALL_SECRETS_PATH]: `${lines.join('\n')}\n` };
}
