/**
 * Which config values a log line must not show, and how they are hidden. Only what is secret is
 * masked, so ordinary values (`NODE_ENV=production`, `APP_ENV=prod`) never garble a log:
 *   - the whole value of a var whose name says it is secret (`*_KEY`, `*_TOKEN`, `*_SECRET`,
 *     `PASSWORD`, `*_PASSWORD`, `*_PASS`, `*_CREDENTIALS`, …);
 *   - the password of any URL with credentials (`postgres://user:PASSWORD@host/db`);
 *   - a value that looks generated (app.json's `"generator": "secret"`, API keys): at least
 *     20 letters, digits and `+/=_-`, mixing letters and digits (a host name, with its dots, is not).
 * A value is masked only as a whole token (not inside a longer word), and never when it is
 * shorter than MIN_SECRET_LENGTH: a short value is too likely to be an ordinary word.
 */

const MIN_SECRET_LENGTH = 6;

const SECRET_NAME_PART = /^(KEY|KEYS|TOKEN|TOKENS|SECRET|SECRETS|PASSWORD|PASSWD|PASS|PWD|CREDENTIALS?|SALT)$/;
const URL_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:([^\s@/]+)@/gi;
const GENERATED = /^(?=.*[a-z])(?=.*\d)[A-Za-z0-9+/=_-]{20,}$/i;
/** A character that would make the value part of a longer word. */
const WORD = '[A-Za-z0-9_]';

/** `STRIPE_API_KEY`, `DB_PASSWORD`, `SECRET`: a name any part of which says "secret". */
export const isSecretName = (key: string): boolean =>
  key
    .toUpperCase()
    .split('_')
    .some((part) => SECRET_NAME_PART.test(part));

/** The secret parts of one config var. */
function secretPartsOf(key: string, value: string): string[] {
  if (isSecretName(key) || GENERATED.test(value)) return [value];
  return [...value.matchAll(URL_PASSWORD)].map((m) => m[1]!);
}

/** The values to hide among these config vars. */
export function secretsOf(config: Record<string, string>): string[] {
  const parts = Object.entries(config).flatMap(([key, value]) => secretPartsOf(key, value));
  return [...new Set(parts.filter((part) => part.length >= MIN_SECRET_LENGTH))];
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Hides each of `secrets` where it stands as a whole token; the longest first, so no part of one is left. */
export function masker(secrets: Iterable<string>): (line: string) => string {
  const sorted = [...secrets].sort((a, b) => b.length - a.length);
  if (sorted.length === 0) return (line) => line;
  const pattern = new RegExp(`(?<!${WORD})(?:${sorted.map(escaped).join('|')})(?!${WORD})`, 'g');
  return (line) => line.replace(pattern, '[redacted]');
}
