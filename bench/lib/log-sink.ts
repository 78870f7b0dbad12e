import { createLogger, type Logger } from '../../src/log.js';

// pino's numeric levels.
const WARN = 40;
const ERROR = 50;

/**
 * A logger at `info`, as in production, whose lines are counted and dropped: their cost is
 * measured, no I/O is, and a run can check that no message failed (the engine logs an error
 * and answers with an apology, which would otherwise look like a fast message).
 */
export class LogSink {
  warnings = 0;
  errors = 0;
  /** The last error line, to say why a run is refused. */
  lastError = '';
  readonly logger: Logger = createLogger({ level: 'info', destination: { write: (line: string) => this.count(line) } });

  private count(line: string): void {
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
    if (level >= ERROR) {
      this.errors += 1;
      this.lastError = line.trim();
    } else if (level >= WARN) {
      this.warnings += 1;
    }
  }
}
