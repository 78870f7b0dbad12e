import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Attachment } from '../core/types.js';
import { childEnv } from './child-process.js';

/** Voice notes larger than this are refused before a byte is read (Telegram's download limit). */
export const VOICE_NOTE_MAX_BYTES = 20 * 1024 * 1024;
/** Download and conversion together; ffmpeg is killed past it. */
export const VOICE_NOTE_TIMEOUT_MS = 60_000;

// Telegram voice notes and Discord voice messages are Opus in Ogg; .oga and .opus are the same
// container under other names. Only the Ogg demuxer is ever used, whatever the name claims.
const VOICE_EXTENSIONS: ReadonlySet<string> = new Set(['ogg', 'oga', 'opus']);
const VOICE_MIME_TYPES: ReadonlySet<string> = new Set(['audio/ogg', 'audio/opus', 'audio/x-opus+ogg', 'application/ogg']);

export type VoiceNoteErrorCode =
  | 'voice_note_too_large'
  | 'voice_note_converter_missing'
  | 'voice_note_unconvertible'
  | 'voice_note_source_failed'
  | 'voice_note_timeout'
  | 'voice_note_aborted';

/** A voice note that could not be turned into an .m4a; `message` says why, for the log only. */
export class VoiceNoteError extends Error {
  /** For `voice_note_too_large`: the limit that was passed. */
  readonly maxBytes: number | undefined;

  constructor(
    readonly code: VoiceNoteErrorCode,
    message: string,
    options?: { cause?: unknown; maxBytes?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VoiceNoteError';
    this.maxBytes = options?.maxBytes;
  }
}

export interface VoiceNoteOptions {
  /** The ffmpeg binary; default `ffmpeg`, found on PATH. */
  ffmpegPath?: string;
  /** Where the unique working directory is made; default the OS temp dir. */
  tmpDir?: string;
  timeoutMs?: number;
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface ConvertedVoiceNote {
  /** The .m4a (AAC), with its exact size; `open()` may be called more than once until cleanup. */
  attachment: Attachment;
  /** Removes the working directory; never throws, safe to call twice. */
  cleanup(): Promise<void>;
}

/** An Ogg/Opus voice note by its extension, else by its MIME type; never a file the platform calls video. */
export function isVoiceNote(name: string, mimeType: string): boolean {
  const mime = mimeType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mime.startsWith('video/')) return false;
  const extension = /\.([A-Za-z0-9]+)$/.exec(name.trim())?.[1]?.toLowerCase();
  if (extension !== undefined && VOICE_EXTENSIONS.has(extension)) return true;
  return VOICE_MIME_TYPES.has(mime);
}

/** `voice_1.ogg` → `voice_1.m4a`; a name without an extension gets one. */
export function m4aName(name: string): string {
  const base = name.replace(/\.[A-Za-z0-9]+$/, '');
  return `${base || 'voice'}.m4a`;
}

/**
 * Streams a voice note through ffmpeg into AAC in an .m4a under a fresh temp directory. The
 * caller uploads the result and must call `cleanup()`; on failure nothing is left behind and
 * ffmpeg has exited.
 */
export async function convertVoiceNote(source: Attachment, options: VoiceNoteOptions = {}): Promise<ConvertedVoiceNote> {
  const maxBytes = options.maxBytes ?? VOICE_NOTE_MAX_BYTES;
  if (!Number.isFinite(source.size) || source.size > maxBytes) {
    throw new VoiceNoteError('voice_note_too_large', `voice note of ${source.size} bytes is over the ${maxBytes}-byte limit`, { maxBytes });
  }
  if (options.signal?.aborted) throw new VoiceNoteError('voice_note_aborted', 'voice note conversion aborted before it started');

  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'nemo-voice-'));
  const cleanup = () => rm(dir, { recursive: true, force: true }).catch(() => undefined);
  // A fixed name inside the unique directory: the user's file name never reaches a path or ffmpeg.
  const output = join(dir, 'voice.m4a');
  try {
    await transcode(source, output, {
      ffmpegPath: options.ffmpegPath ?? 'ffmpeg',
      timeoutMs: options.timeoutMs ?? VOICE_NOTE_TIMEOUT_MS,
      maxBytes,
      signal: options.signal,
    });
    const { size } = await stat(output);
    return {
      attachment: { name: m4aName(source.name), mimeType: 'audio/mp4', size, open: async () => createReadStream(output) },
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** ffmpeg reads the Ogg from stdin and writes a seekable file: `+faststart` rewrites it at the end. */
function ffmpegArgs(output: string): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    // Input: the Ogg demuxer only, reading the pipe only (no playlists, no other files or URLs).
    '-protocol_whitelist', 'pipe', '-f', 'ogg', '-i', 'pipe:0',
    '-map', '0:a:0', '-vn', '-sn', '-dn', '-map_metadata', '-1',
    '-c:a', 'aac', '-b:a', '96k',
    '-movflags', '+faststart', '-f', 'ipod', '-n', output,
  ];
}

interface TranscodeSettings {
  ffmpegPath: string;
  timeoutMs: number;
  maxBytes: number;
  signal: AbortSignal | undefined;
}

async function transcode(source: Attachment, output: string, settings: TranscodeSettings): Promise<void> {
  // A refusal here (too large, download failed) is the platform's own error, as for any file.
  const input = await source.open();
  const child = spawn(settings.ffmpegPath, ffmpegArgs(output), { stdio: ['pipe', 'ignore', 'pipe'], env: childEnv(), windowsHide: true });

  let failure: VoiceNoteError | undefined;
  const fail = (error: VoiceNoteError) => {
    failure ??= error;
    child.kill('SIGKILL');
    input.destroy();
  };

  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-2000);
  });

  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      failure ??= error.code === 'ENOENT'
        ? new VoiceNoteError('voice_note_converter_missing', `ffmpeg was not found (${settings.ffmpegPath})`, { cause: error })
        : new VoiceNoteError('voice_note_unconvertible', `ffmpeg could not start: ${error.code ?? error.message}`, { cause: error });
      input.destroy();
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });

  const timer = setTimeout(() => fail(new VoiceNoteError('voice_note_timeout', `conversion took over ${settings.timeoutMs} ms`)), settings.timeoutMs);
  const onAbort = () => fail(new VoiceNoteError('voice_note_aborted', 'voice note conversion aborted'));
  settings.signal?.addEventListener('abort', onAbort, { once: true });
  // pipeline hands ffmpeg's closed stdin (EPIPE: it gave up on the bytes) back to the source as
  // the source's error: that one is ffmpeg's, and its exit code tells why.
  let stdinClosed = false;
  const onStdinGone = () => {
    stdinClosed = true;
  };
  child.stdin.once('error', onStdinGone);
  child.stdin.once('close', onStdinGone);
  const sourceFailed = (error: Error) => {
    if (stdinClosed) return;
    fail(new VoiceNoteError('voice_note_source_failed', `reading the voice note failed: ${error.name}`, { cause: error }));
  };
  // Registered before pipeline's own listener: ffmpeg is killed before it sees a clean end of
  // input, so a broken download never becomes a truncated but "successful" file.
  input.once('error', sourceFailed);

  let received = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > settings.maxBytes) {
        const error = new VoiceNoteError('voice_note_too_large', `voice note is larger than ${settings.maxBytes} bytes`, { maxBytes: settings.maxBytes });
        fail(error);
        callback(error);
        return;
      }
      callback(null, chunk);
    },
  });
  // A source that failed before we listened (already errored when opened) still counts as the source's.
  const feeding = pipeline(input, cap, child.stdin).catch(() => {
    if (input.errored) sourceFailed(input.errored);
  });

  try {
    const code = await exited;
    await feeding;
    if (failure) throw failure;
    if (code !== 0) {
      const reason = stderrTail.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
      throw new VoiceNoteError('voice_note_unconvertible', `ffmpeg exited with ${code ?? 'a signal'}${reason ? `: ${reason}` : ''}`);
    }
  } finally {
    clearTimeout(timer);
    settings.signal?.removeEventListener('abort', onAbort);
  }
}
