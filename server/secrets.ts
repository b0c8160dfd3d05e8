import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Provider secrets at rest: AES-256-GCM with a key from WIDEMESH_SECRET_KEY (64 hex chars),
 * or, when unset, a key generated once into the data directory (0600).
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static open(dataDir: string, envKey: string | undefined): SecretBox {
    if (envKey) {
      if (!/^[0-9a-f]{64}$/i.test(envKey)) throw new Error('WIDEMESH_SECRET_KEY must be 64 hex characters (32 bytes)');
      return new SecretBox(Buffer.from(envKey, 'hex'));
    }
    const file = path.join(dataDir, 'secret.key');
    if (!fs.existsSync(file))
      fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    return new SecretBox(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex'));
  }

  seal(plain: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join(':');
  }

  unseal(sealed: string): string {
    const [, iv, tag, data] = sealed.split(':');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv!, 'base64'));
    decipher.setAuthTag(Buffer.from(tag!, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(data!, 'base64')), decipher.final()]).toString('utf8');
  }
}

/**
 * Data directories made before the server set its umask: the directory and its top-level
 * entries lose group and other access (what lies deeper is then unreachable to them anyway).
 */
export function restrictDataDir(dataDir: string): void {
  fs.chmodSync(dataDir, 0o700);
  for (const entry of fs.readdirSync(dataDir, { withFileTypes: true })) {
    const file = path.join(dataDir, entry.name);
    if (entry.isDirectory()) fs.chmodSync(file, 0o700);
    else if (entry.isFile()) fs.chmodSync(file, fs.statSync(file).mode & 0o700);
  }
}
