import { WidemeshError } from './errors.ts';

/** App names become DNS labels, repository directories and container names: keep them boring. */
const APP_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){0,28}[a-z0-9]$/;

export function isAppName(name: string): boolean {
  return APP_NAME.test(name);
}

export function assertAppName(name: unknown): string {
  if (typeof name !== 'string' || !isAppName(name)) {
    throw new WidemeshError(
      'INVALID_APP_NAME',
      'an app name is 2 to 30 characters: lower-case letters, digits and single dashes, starting with a letter and not ending with a dash',
    );
  }
  return name;
}
