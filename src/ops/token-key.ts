import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

export class TokenKeyFileError extends Error {
  readonly code = 'token_key_file_invalid';
  constructor(readonly path: string) {
    super(`${path} does not hold a 32-byte key in base64: move it away to have a new one made (tokens sealed with it are then lost)`);
    this.name = 'TokenKeyFileError';
  }
}

const KEY_FILE = 'token-key';

/**
 * The terminal chat's own TOKEN_ENCRYPTION_KEY, made once under `dataDir` (readable by the
 * owner only) and read again on every start, so the tokens it sealed stay readable.
 */
export function terminalTokenKey(dataDir: string): Buffer {
  const path = join(dataDir, KEY_FILE);
  mkdirSync(dataDir, { recursive: true });
  try {
    // `wx`: of two terminals started at once, one writes and the other reads that key.
    writeFileSync(path, `${randomBytes(32).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // A file copied in with looser rights is tightened, not refused.
  chmodSync(path, 0o600);
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new TokenKeyFileError(path);
  return key;
}

/** Said once per process at start: the operator sees it without it filling the log. */
export function warnIfTokensInClear(key: Buffer | undefined, logger: Pick<Logger, 'warn'>): void {
  if (key) return;
  logger.warn(
    'TOKEN_ENCRYPTION_KEY is not set: NemoVideo tokens are stored in clear in Redis and /login is off (generate one with: openssl rand -base64 32)',
  );
}
