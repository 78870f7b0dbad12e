import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/** Whether a stored value is one of ours (`v1:iv:tag:body`), rather than a token kept in clear by an older version. */
export function isSealed(value: string): boolean {
  return /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*$/.test(value);
}

export class TokenCipherError extends Error {
  readonly code = 'token_cipher_failed';
  constructor(message: string) {
    super(message);
    this.name = 'TokenCipherError';
  }
}

/** AES-256-GCM for tokens at rest: a leaked Redis dump holds no usable token. */
export class TokenCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new TokenCipherError('the key must be 32 bytes');
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
  }

  decrypt(sealed: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new TokenCipherError('not a sealed token');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      // Wrong key or tampered data: say which without echoing anything.
      throw new TokenCipherError('the sealed token does not open with this key');
    }
  }
}
