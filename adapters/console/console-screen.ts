import { clearLine, cursorTo, type Interface } from 'node:readline';
import { Writable } from 'node:stream';

/**
 * The terminal's output as the outbox and the chat write to it: while a `you › ` prompt is on
 * screen, each write clears the prompt line, prints, and redraws the prompt with what was being
 * typed, so replies land above the prompt instead of after it.
 */
export class ConsoleScreen extends Writable {
  private rl: Interface | undefined;
  private muted = false;

  constructor(private readonly target: NodeJS.WritableStream) {
    super({ decodeStrings: false });
  }

  /** Redraw this prompt after every write from now on; undefined stops redrawing. */
  attach(rl: Interface | undefined): void {
    this.rl = rl;
  }

  /** Drops everything written from now on (the user quit: a cut turn must not print over the shell). */
  mute(): void {
    this.muted = true;
    this.rl = undefined;
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.muted) return done();
    const rl = this.rl;
    const tty = this.target as NodeJS.WritableStream & { isTTY?: boolean };
    if (rl && tty.isTTY) {
      clearLine(tty, 0);
      cursorTo(tty, 0);
    }
    this.target.write(chunk);
    // prompt(true) keeps the cursor where the user was typing.
    if (rl) rl.prompt(true);
    done();
  }
}
