import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { basename, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Attachment, ChatAddress, IncomingMessage, MessageHandler } from '../../src/core/types.js';
import { botBlock } from './console-outbox.js';
import type { ConsoleScreen } from './console-screen.js';
import { mimeTypeOf } from './mime-types.js';
import { consoleLanguage, ct, type ConsoleLanguage } from './texts.js';

export interface ConsoleChatOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  handler: MessageHandler;
  /** Defaults to the login name. */
  userId?: string;
  /** Defaults to the language of `LC_ALL` / `LC_MESSAGES` / `LANG`. */
  language?: string;
  /** Show a `you › ` prompt; defaults to whether input is a terminal. */
  prompt?: boolean;
  /** The output the outbox writes to as well, so that replies land above the prompt. */
  screen?: ConsoleScreen;
  /** The video service as named to the user (scheme and host), for the "still waiting" notice. */
  service?: string;
}

export interface ConsoleChat {
  /**
   * Resolves once input ended or `close()` was called and every started turn settled, or at
   * once on a second Ctrl-C during a turn (`interrupted`: the turn is left to the journal).
   */
  closed: Promise<{ interrupted: boolean }>;
  close(): void;
  /** The video service is slow to answer: said once per typed line, so a hung service is never silence. */
  waiting(): void;
}

const CHAT_ID = 'terminal';

export function startConsoleChat(options: ConsoleChatOptions): ConsoleChat {
  const { input, output, handler } = options;
  const userId = options.userId ?? loginName();
  const platformLanguage = options.language ?? languageFromLocale(localeFromEnv());
  const address: ChatAddress = { platform: 'console', chatId: CHAT_ID, userId };
  const showPrompt = options.prompt ?? (input as { isTTY?: boolean }).isTTY === true;

  // Terminal mode (echo, line editing) only when both ends are a real terminal.
  const terminal = (input as { isTTY?: boolean }).isTTY === true && (output as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({ input, output, terminal });
  rl.setPrompt('you › ');
  const lang = consoleLanguage(platformLanguage);
  const screen = options.screen;
  if (screen && showPrompt && terminal) screen.attach(rl);
  const write = (text: string): void => {
    (screen ?? output).write(text);
  };
  const say = (line: string): void => write(botBlock(line));
  const prompt = (): void => {
    if (showPrompt && !ending) rl.prompt(true);
  };

  // ending: no more input will come; quitting: the user asked to leave, so lines still
  // queued behind an /upload are dropped rather than sent.
  let ending = false;
  let quitting = false;
  // Preparing a line may await the disk (/upload), so preparation is chained to keep the
  // handler seeing lines in the order they were typed; the turns themselves run unawaited
  // because the engine queues them per session.
  let preparing: Promise<void> = Promise.resolve();
  const turns = new Set<Promise<void>>();
  let warned = false;
  let interrupted = false;

  const startTurn = (message: IncomingMessage): void => {
    const turn = Promise.resolve()
      .then(() => handler.handle(message))
      .catch((error: unknown) => {
        say(ct(lang, 'failed', { why: error instanceof Error ? error.message : String(error) }));
      })
      .finally(() => {
        turns.delete(turn);
        // The next turn's first Ctrl-C warns again.
        if (turns.size === 0) warned = false;
        prompt();
      });
    turns.add(turn);
  };

  const onLine = async (raw: string): Promise<void> => {
    const line = raw.trim();
    if (!line) return prompt();
    if (/^\/(quit|exit)$/i.test(line)) {
      if (turns.size > 0) say(ct(lang, 'quitWaiting'));
      return close();
    }
    if (/^\/help$/i.test(line)) say(ct(lang, 'help'));
    const prepared = /^\/upload(\s|$)/i.test(line)
      ? await prepareUpload(line.slice('/upload'.length), lang)
      : { text: line, attachments: [] };
    if ('problem' in prepared) {
      say(prepared.problem);
      return prompt();
    }
    startTurn({
      platform: 'console',
      chatId: CHAT_ID,
      userId,
      ...(platformLanguage ? { platformLanguage } : {}),
      text: prepared.text,
      attachments: prepared.attachments,
      addressed: true,
      address: { ...address },
    });
  };

  let noticed = false;
  rl.on('line', (raw) => {
    noticed = false;
    if (quitting) return;
    preparing = preparing
      .then(() => (quitting ? undefined : onLine(raw)))
      .catch((error: unknown) => say(ct(lang, 'failed', { why: error instanceof Error ? error.message : String(error) })));
  });

  // Ctrl-C (only seen here in terminal mode, where it is a key, not a signal): with a turn
  // running, the first one warns and the second quits at once; with none, it quits.
  rl.on('SIGINT', () => {
    if (turns.size > 0 && !warned) {
      warned = true;
      say(ct(lang, 'stillRunning'));
      return;
    }
    interrupted = turns.size > 0;
    if (interrupted) screen?.mute();
    output.write('\n');
    close();
  });

  const closed = new Promise<{ interrupted: boolean }>((done) => {
    rl.once('close', () => {
      ending = true;
      if (interrupted) return done({ interrupted });
      void preparing.then(async () => {
        // A turn that ends may not start another, but wait until the set stays empty anyway.
        while (turns.size > 0) await Promise.allSettled([...turns]);
        done({ interrupted });
      });
    });
  });

  function close(): void {
    quitting = true;
    ending = true;
    screen?.attach(undefined);
    rl.close();
  }

  say(ct(lang, 'hint'));
  prompt();
  return {
    closed,
    close,
    waiting() {
      if (noticed || ending || !options.service) return;
      noticed = true;
      say(ct(lang, 'waiting', { service: options.service }));
    },
  };
}

type Prepared = { text: string; attachments: Attachment[] } | { problem: string };

async function prepareUpload(argument: string, lang: ConsoleLanguage): Promise<Prepared> {
  const parsed = splitFirstArgument(argument.trim());
  if (!parsed) return { problem: ct(lang, 'usage') };
  const { first, rest } = parsed;
  // The engine uploads links by URL itself, so a link passes through as text.
  if (/^https?:\/\//i.test(first)) {
    return { text: rest ? `/upload ${first} ${rest}` : `/upload ${first}`, attachments: [] };
  }
  const path = resolve(first.replace(/^~(?=$|\/)/, homedir()));
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) return { problem: ct(lang, 'notAFile', { path }) };
    size = info.size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { problem: ct(lang, 'fileNotFound', { path }) };
    return { problem: ct(lang, 'cannotRead', { path, code: code ?? 'unknown error' }) };
  }
  const name = basename(path);
  const attachment: Attachment = {
    name,
    mimeType: mimeTypeOf(name),
    size,
    open: async () => createReadStream(path),
  };
  return { text: rest, attachments: [attachment] };
}

/** Splits off the first argument, which may be quoted to hold spaces. */
export function splitFirstArgument(value: string): { first: string; rest: string } | undefined {
  if (!value) return undefined;
  const quote = value[0];
  if (quote === '"' || quote === "'") {
    const end = value.indexOf(quote, 1);
    if (end > 1) return { first: value.slice(1, end), rest: value.slice(end + 1).trim() };
  }
  const match = /^(\S+)\s*([\s\S]*)$/.exec(value);
  if (!match) return undefined;
  return { first: match[1] ?? '', rest: (match[2] ?? '').trim() };
}

/** `zh_CN.UTF-8` → `zh`; `C`, `POSIX` and empty values say nothing. */
export function languageFromLocale(locale: string | undefined): string | undefined {
  const language = locale?.split(/[_.@-]/)[0]?.toLowerCase();
  if (!language || language === 'c' || language === 'posix') return undefined;
  return language;
}

function localeFromEnv(): string | undefined {
  return process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || undefined;
}

function loginName(): string {
  try {
    return userInfo().username || 'local';
  } catch {
    // No passwd entry (e.g. an arbitrary uid in a container).
    return 'local';
  }
}
