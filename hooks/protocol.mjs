// @ts-check
// What the pre-receive hook and the server share. The hook POSTs `git archive` of a pushed
// commit to /internal/push (a deleted branch: nothing to /internal/branch-deleted) and relays the
// answer (the deploy log) line by line; the last line is RESULT_MARKER followed by "ok" or "failed".
export const RESULT_MARKER = '\u0001widemesh-result ';

/** The hook finds the server's URL and its per-start secret in this JSON file (0600). */
export const HOOK_CONFIG_ENV = 'WIDEMESH_HOOK_CONFIG';
