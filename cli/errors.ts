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
