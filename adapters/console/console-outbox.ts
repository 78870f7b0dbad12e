import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ChatAddress, Language, Outbox, PrivateReply, SendOptions, VideoFile } from '../../src/core/types.js';
import { t } from '../../src/core/i18n.js';
import { ct, languageOfText } from './texts.js';

const MARKER = 'bot › ';
const INDENT = ' '.repeat(MARKER.length);
const LANGUAGES: Language[] = ['en', 'zh'];
// A progress message's closing states. Where a platform edits in place they tidy the status;
// printed anew in a terminal they only repeat what the answer or the video right beside them says.
const NETWORK_ERRORS = new Set(LANGUAGES.map((lang) => t(lang, 'networkError')));
const CLOSING_STATES = new Set(
  LANGUAGES.flatMap((lang) => [t(lang, 'doneTurn'), t(lang, 'doneGenerated'), t(lang, 'videoReadyNoLink'), t(lang, 'videoSentAsLink')]),
);

/** The stream ended before the announced size: the delivery must be retried, not kept. */
export class IncompleteVideoError extends Error {
  readonly code = 'incomplete_video';
  constructor(readonly expected: number, readonly received: number) {
    super(`video stream ended after ${received} of ${expected} bytes`);
    this.name = 'IncompleteVideoError';
  }
}

export interface ConsoleOutboxOptions {
  output: NodeJS.WritableStream;
  /** Where finished videos are saved (created when missing). */
  videoDir: string;
  /**
   * What "I can't reach the video service" gets added in a terminal, whose user runs the bot
   * too: the service tried (host only) and the log file with the cause.
   */
  network?: { service: string; logFile: string };
}

/**
 * Prints replies to a terminal and saves videos as files. Ids and the "already printed"
 * memory are per process on purpose: a worker in another process only prints more, it never
 * depends on what this one remembers.
 */
export class ConsoleOutbox implements Outbox {
  readonly platform = 'console' as const;
  private readonly output: NodeJS.WritableStream;
  private readonly videoDir: string;
  private nextId = 1;
  private readonly lastText = new Map<string, string>();
  private readonly network: ConsoleOutboxOptions['network'];

  constructor(options: ConsoleOutboxOptions) {
    this.output = options.output;
    this.videoDir = resolve(options.videoDir);
    this.network = options.network;
  }

  private withNotes(text: string): string {
    if (!this.network || !NETWORK_ERRORS.has(text)) return text;
    return `${text}\n${ct(languageOfText(text), 'networkNote', { service: this.network.service, log: this.network.logFile })}`;
  }

  async sendText(_to: ChatAddress, text: string, options?: SendOptions): Promise<string> {
    // The pid keeps ids from two processes sharing one terminal from colliding.
    const id = `${process.pid}.${this.nextId++}`;
    this.lastText.set(id, text);
    let block = botBlock(this.withNotes(text));
    const buttons = options?.buttons ?? [];
    if (buttons.length > 0) {
      block += `${INDENT}${buttons.map((b) => `[${b.action}]`).join(' ')}  ${ct(languageOfText(text), 'buttons')}\n`;
    }
    this.output.write(block);
    return id;
  }

  async editText(_to: ChatAddress, messageId: string, text: string): Promise<void> {
    // Lines were likely written since, so the edit is printed again rather than rewritten.
    if (this.lastText.get(messageId) === text) return;
    this.lastText.set(messageId, text);
    if (CLOSING_STATES.has(text)) return;
    this.output.write(botBlock(this.withNotes(text)));
  }

  /** A terminal has no replies: no message id. */
  async sendVideo(_to: ChatAddress, video: VideoFile): Promise<undefined> {
    await mkdir(this.videoDir, { recursive: true });
    const finalPath = resolve(this.videoDir, `${safeName(video.deliveryId)}.mp4`);
    // Same directory as the target so the rename is atomic; a unique name so two concurrent
    // deliveries of one id never write into the same temp file.
    const tempPath = resolve(
      this.videoDir,
      `.${safeName(video.deliveryId)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      await pipeline(video.stream, counter, createWriteStream(tempPath, { flags: 'wx' }));
      if (received !== video.size) throw new IncompleteVideoError(video.size, received);
      await rename(tempPath, finalPath);
    } catch (error) {
      await rm(tempPath, { force: true });
      throw error;
    }
    this.output.write(botBlock(video.caption ? `${video.caption}\n${finalPath}` : finalPath));
    return undefined;
  }

  maxUploadBytes(_to: ChatAddress): number {
    return Number.MAX_SAFE_INTEGER;
  }

  /** A terminal is one person's: nobody else reads it. */
  isShared(_to: ChatAddress): boolean {
    return false;
  }

  async sendPrivate(to: ChatAddress, reply: PrivateReply): Promise<void> {
    await this.sendText(to, reply.text);
  }
}

/** A reply as printed: `bot › ` before its first line, its other lines indented under it. */
export function botBlock(text: string): string {
  const [first = '', ...rest] = text.replace(/\r\n?/g, '\n').split('\n');
  return [MARKER + first, ...rest.map((line) => (line ? INDENT + line : ''))].join('\n') + '\n';
}

/** A delivery id becomes a file name, so nothing in it may climb out of the directory. */
function safeName(id: string): string {
  const cleaned = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return cleaned || '_';
}
