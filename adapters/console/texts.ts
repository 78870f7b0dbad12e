import { defineCatalog } from '../../src/core/catalog.js';
import type { Language } from '../../src/core/types.js';

/** The terminal chat's own words (the engine's are in src/core/i18n.ts), in English and Chinese. */
export type ConsoleLanguage = Language;

const en = {
  hint: () => 'Type a message, /upload <file>, /help, /quit (or Ctrl-C)',
  help: () =>
    'In this terminal: /upload <file or http(s) link> [message], /stats for usage numbers, ' +
    '/quit or /exit to leave (Ctrl-C too).',
  stillRunning: () =>
    'The answer keeps coming in the background. Press Ctrl-C again to quit now ' +
    '(the unfinished turn is reported at the next start).',
  quitWaiting: () => 'Quitting once the answer is in. Press Ctrl-C to quit now (the turn is then reported at the next start).',
  usage: () => 'Usage: /upload <file or http(s) link> [message]',
  notAFile: (p: { path: string }) => `That is not a file: ${p.path}`,
  fileNotFound: (p: { path: string }) => `File not found: ${p.path}`,
  cannotRead: (p: { path: string; code: string }) => `Cannot read ${p.path} (${p.code})`,
  failed: (p: { why: string }) => `That message failed: ${p.why}`,
  buttons: () => '(type the word)',
  waiting: (p: { service: string }) => `Still waiting for an answer from ${p.service}…`,
  networkNote: (p: { service: string; log: string }) => `Tried ${p.service} (NEMO_API_URL); the cause is in ${p.log}.`,
};

const zh: typeof en = {
  hint: () => '输入消息、/upload <文件>、/help、/quit（或 Ctrl-C）',
  help: () => '在终端里：/upload <文件或 http(s) 链接> [消息]，/stats 查看用量，/quit 或 /exit 退出（也可按 Ctrl-C）。',
  stillRunning: () => '回答会在后台继续。再按一次 Ctrl-C 立即退出（未完成的请求会在下次启动时报告）。',
  quitWaiting: () => '等回答完成后退出。按 Ctrl-C 立即退出（未完成的请求会在下次启动时报告）。',
  usage: () => '用法：/upload <文件或 http(s) 链接> [消息]',
  notAFile: (p) => `这不是一个文件：${p.path}`,
  fileNotFound: (p) => `找不到文件：${p.path}`,
  cannotRead: (p) => `无法读取 ${p.path}（${p.code}）`,
  failed: (p) => `这条消息失败了：${p.why}`,
  buttons: () => '（输入按钮上的词）',
  waiting: (p) => `仍在等待 ${p.service} 的回答…`,
  networkNote: (p) => `尝试连接的是 ${p.service}（NEMO_API_URL）；原因见 ${p.log}。`,
};

/** The terminal's sentence `key` in `lang`. */
export const ct = defineCatalog({ en, zh });

/** The terminal's language from the platform's (the locale): Chinese only when it says so. */
export function consoleLanguage(language: string | undefined): ConsoleLanguage {
  return language === 'zh' ? 'zh' : 'en';
}

/** A reply's own language: Chinese when it holds CJK characters (the engine wrote it in the user's language). */
export function languageOfText(text: string): ConsoleLanguage {
  return /[\u3400-\u9fff]/.test(text) ? 'zh' : 'en';
}
