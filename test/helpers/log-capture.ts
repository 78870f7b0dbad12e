import { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/log.js';

/** The product's logger writing into memory: a test reads every line it wrote. */
export function captureLogs(options: { level?: string; secrets?: string[] } = {}): { logger: Logger; logs(): string } {
  let text = '';
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const logger = createLogger({ level: options.level ?? 'debug', destination, ...(options.secrets ? { secrets: options.secrets } : {}) });
  return { logger, logs: () => text };
}
