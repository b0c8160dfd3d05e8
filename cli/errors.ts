import { CommanderError } from 'commander';

/** The command was used wrongly: exit code 2. */
export class UsageError extends Error {}

/** The server refused, could not be reached, or git failed: exit code 1. */
export class ApiError extends Error {
  constructor(
    message: string,
    /** The server's error code (`APP_NOT_FOUND`, …), or one of ours for transport failures. */
    readonly code = 'API_ERROR',
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A command that ends with a code of its own (`run` passes on the one-off process's exit code). */
export class CommandExit extends Error {
  constructor(readonly code: number) {
    super(`exited with code ${code}`);
  }
}

/** 0 done (help shown), 1 the server or git refused, 2 bad usage. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommandExit) return err.code;
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof UsageError) return 2;
  return 1;
}

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * What the API says about a request body (`send {"name": "www.example.com"}: …`), in the
 * words of the command a person typed.
 */
const FOR_PEOPLE: Record<string, string> = {
  INVALID_DOMAIN: 'give a host name with a dot, e.g. www.example.com',
  INVALID_SCALE: 'say how many instances of each process type, e.g. web=2 worker=1',
  INVALID_VERSION: 'give the release to go back to, e.g. v3',
  INVALID_COMMAND: 'give the command to run, e.g. widemesh run bash',
  INVALID_CONFIG: 'give at least one KEY=VALUE (config:set) or KEY (config:unset)',
  INVALID_PROMOTION: 'name the environment to promote from, e.g. widemesh releases:promote staging',
  INVALID_CERTIFICATE: 'give the certificate and key as PEM files: widemesh certs:add DOMAIN CERT.pem KEY.pem',
};

/** The message of an error as a person reads it: API request shapes are put in CLI words. */
export function forPeople(err: unknown): string {
  const message = errorMessage(err);
  if (!(err instanceof ApiError) || !message.startsWith('send ')) return message;
  return FOR_PEOPLE[err.code] ?? message;
}
