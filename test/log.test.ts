import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from '../src/log.js';

const NEMO = 'nmv_usr_AbC123-xyz_987';
const TELEGRAM = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const DISCORD = 'MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB';

/** A logger writing into an array of lines, as pino would write to stdout. */
function memoryLogger(secrets?: string[]) {
  const lines: string[] = [];
  const destination = { write: (line: string) => void lines.push(line) };
  const logger = createLogger({ level: 'trace', destination, ...(secrets ? { secrets } : {}) });
  return { logger, lines, text: () => lines.join('') };
}

describe('createLogger', () => {
  it('when a token sits in a known field, then the field is censored and the rest kept', () => {
    const { logger, text } = memoryLogger();
    logger.info(
      { token: 'opaque-value-1', user: { token: 'opaque-value-2', id: 'u1' }, headers: { authorization: 'opaque-value-3' } },
      'session created',
    );
    const out = text();
    expect(out).not.toMatch(/opaque-value/);
    expect(out).toContain('session created');
    expect(out).toContain('"id":"u1"');
    expect(out).toContain('[redacted]');
  });

  it('when config fields are logged, then every token field is censored', () => {
    const { logger, text } = memoryLogger();
    logger.info({ config: { nemoToken: 'opaque-a', telegramBotToken: 'opaque-b', discordToken: 'opaque-c', httpPort: 8080 } });
    expect(text()).not.toMatch(/opaque-/);
    expect(text()).toContain('"httpPort":8080');
  });

  it('when token-shaped strings appear in the message and in nested values, then they are scrubbed', () => {
    const { logger, text } = memoryLogger();
    logger.warn(
      { request: { url: `https://api.telegram.org/bot${TELEGRAM}/sendMessage`, note: [`discord ${DISCORD}`] } },
      `calling NemoVideo with Authorization: Bearer ${NEMO} for chat 42`,
    );
    const out = text();
    expect(out).not.toContain('AbC123');
    expect(out).not.toContain('AAHdqTcv');
    expect(out).not.toContain('GhIjKl');
    expect(out).toContain('Bearer [redacted] for chat 42');
    expect(out).toContain('https://api.telegram.org/bot[redacted]/sendMessage');
    expect(JSON.parse(out)).toMatchObject({ level: 40 });
  });

  it('when an error carries a token in its message and stack, then both are scrubbed', () => {
    const { logger, text } = memoryLogger();
    const error = new Error(`fetch failed for https://api.telegram.org/file/bot${TELEGRAM}/videos/1.mp4\n${NEMO}`);
    logger.error({ err: error }, 'download failed');
    const out = text();
    expect(out).not.toContain('AAHdqTcv');
    expect(out).not.toContain('AbC123');
    const parsed = JSON.parse(out) as { err: { message: string; stack: string }; msg: string };
    expect(parsed.msg).toBe('download failed');
    expect(parsed.err.message).toBe('fetch failed for https://api.telegram.org/file/bot[redacted]/videos/1.mp4\nnmv_usr_[redacted]');
    expect(parsed.err.stack).toContain('nmv_usr_[redacted]');
  });

  it('when an exact secret of unknown shape is configured, then it is scrubbed anywhere', () => {
    const { logger, text } = memoryLogger(['operator-secret-42']);
    logger.info(`using operator-secret-42 now`);
    logger.info({ detail: 'prefix operator-secret-42 suffix' });
    expect(text()).not.toContain('operator-secret-42');
    expect(text()).toContain('prefix [redacted] suffix');
  });

  it('when the level is above the call, then nothing is written', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(line) } });
    logger.info('hidden');
    logger.warn('shown');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('shown');
  });
});

describe('scrubSecrets', () => {
  it('when a hostile text is 100,000 characters of one token class, then scrubbing finishes in well under a second (no rescan from every character)', () => {
    for (const unit of ['1', 'a', 'a_', '1a']) {
      const text = unit.repeat(100_000 / unit.length);
      const started = performance.now();
      const out = scrubSecrets(text);
      // Quadratic patterns took 10 s on 40,000 digits; linear ones take milliseconds.
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(out).toBe(text);
    }
  });

  it('when a token follows a run of its own characters, then it is still scrubbed', () => {
    const telegram = `99999${'1'.repeat(20)}:${'A'.repeat(35)}`;
    const discord = `${'a'.repeat(40)}.${'b'.repeat(8)}.${'c'.repeat(30)}`;
    expect(scrubSecrets(`x ${telegram} y`)).toBe('x [redacted] y');
    expect(scrubSecrets(`x ${discord} y`)).toBe('x [redacted] y');
  });

  it('when a text holds each kind of token, then each is replaced and the words around stay', () => {
    const text = `token ${NEMO}; header Bearer abc.def; url /bot${TELEGRAM}/getMe; bare ${TELEGRAM}; discord ${DISCORD}; link https://x.test/cb?token=zzz&ok=1`;
    expect(scrubSecrets(text)).toBe(
      'token nmv_usr_[redacted]; header Bearer [redacted]; url /bot[redacted]/getMe; bare [redacted]; discord [redacted]; link https://x.test/cb?token=[redacted]&ok=1',
    );
  });

  it('when a text holds no secret, then it is unchanged', () => {
    const text = 'Render failed: the draft has no tracks. Claim link: https://nemovideo.com/workspace/claim?ct=clm_abc123';
    expect(scrubSecrets(text)).toBe(text);
  });

  it('when a text was already scrubbed, then scrubbing again changes nothing', () => {
    const once = scrubSecrets(`Bearer ${NEMO} at /bot${TELEGRAM}/x`);
    expect(scrubSecrets(once)).toBe(once);
  });
});
