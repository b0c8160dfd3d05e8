/**
 * Every failure a user can act on carries a stable code and a message that says what to do.
 * The API maps `status` to the HTTP status; the pipeline prints `message` in the build log.
 */
export class WidemeshError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'WidemeshError';
  }
}

export const notFound = (code: string, message: string) => new WidemeshError(code, message, 404);

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
