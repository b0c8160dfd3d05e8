import { describe, expect, it } from 'vitest';
import { lineLog } from '../../../../server/logs/index.ts';
import { isSecretName, masker, secretsOf } from '../../../../server/logs/secrets.ts';

const maskWith = (config: Record<string, string>) => masker(secretsOf(config));

describe('which config values are secret', () => {
  it('reads the name: *_KEY, *_TOKEN, *_SECRET, PASSWORD, *_PASSWORD and their kin', () => {
    for (const key of [
      'STRIPE_API_KEY',
      'GITHUB_TOKEN',
      'SESSION_SECRET',
      'PASSWORD',
      'DB_PASSWORD',
      'AWS_SECRET_ACCESS_KEY',
    ])
      expect(isSecretName(key), key).toBe(true);
    for (const key of ['NODE_ENV', 'APP_ENV', 'GREETING', 'KEYBOARD_LAYOUT', 'DATABASE_URL', 'MONKEY'])
      expect(isSecretName(key), key).toBe(false);
  });

  it('hides the password of a URL with credentials, not the rest of it', () => {
    expect(secretsOf({ DATABASE_URL: 'postgres://shop:pa55w0rd-x@db.internal:5432/shop' })).toEqual(['pa55w0rd-x']);
    expect(secretsOf({ DATABASE_URL: 'postgres://db.internal:5432/shop' })).toEqual([]);
  });

  it('hides generated-looking values whatever their name, and never a short one', () => {
    const generated = 'a3f9c2d8e1b7a6f5c4d3e2f1';
    expect(secretsOf({ SIGNING: generated })).toEqual([generated]);
    expect(secretsOf({ API_KEY: 'abc12' })).toEqual([]);
    expect(secretsOf({ REDIS_HOST: 'redis-12345.cloud.example.com' })).toEqual([]);
  });
});

describe('masking a line', () => {
  it('never touches text because an ordinary value appears in it', () => {
    const mask = maskWith({ APP_ENV: 'prod', NODE_ENV: 'production', STAGE: 'staging', GREETING: 'hello world' });
    const line =
      'Receiving ux-hello (production) ENV NODE_ENV=production at http://ux-hello-staging.localhost/ hello world';
    expect(mask(line)).toBe(line);
  });

  it('masks a secret as a whole token only, the longest first', () => {
    const mask = maskWith({ API_TOKEN: 'sup3r-s3cret', OTHER_TOKEN: 'sup3r-s3cret-longer' });
    expect(mask('token=sup3r-s3cret and sup3r-s3cret-longer.')).toBe('token=[redacted] and [redacted].');
    expect(mask('xsup3r-s3cret sup3r-s3cretly')).toBe('xsup3r-s3cret sup3r-s3cretly');
  });

  it('treats a secret with regex characters as text', () => {
    const mask = maskWith({ DB_PASSWORD: 'a.b*c+(d)?' });
    expect(mask('pw a.b*c+(d)? axbbc')).toBe('pw [redacted] axbbc');
  });

  it('hides secrets added to a build log later, in every line after', () => {
    const lines: string[] = [];
    const log = lineLog((l) => lines.push(l), { NODE_ENV: 'production' });
    log.info('one hunter2-secret production');
    log.addSecrets({ ADMIN_PASSWORD: 'hunter2-secret' });
    log.info('two hunter2-secret production');
    expect(lines).toEqual(['       one hunter2-secret production', '       two [redacted] production']);
  });
});
