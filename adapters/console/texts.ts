/** The terminal chat's own words (the engine's are in src/core/i18n.ts), in English and Chinese. */
export type ConsoleLanguage = 'en' | 'zh';

const en = {
  hint: 'Type a message, /upload <file>, /help, /quit (or Ctrl-C)',
  help:
    'In this terminal: /upload <file or http(s) link> [message], /stats for usage numbers, ' +
    '/quit or /exit to leave (Ctrl-C too).',
  stillRunning:
    'The answer keeps coming in the background. Press Ctrl-C again to quit now ' +
    '(the unfinished turn is reported at the next start).',
  quitWaiting: 'Quitting once the answer is in. Press Ctrl-C to quit now (the turn is then reported at the next start).',
  usage: 'Usage: /upload <file or http(s) link> [message]',
  notAFile: (path: string) => `That is not a file: ${path}`,
  fileNotFound: (path: string) => `File not found: ${path}`,
  cannotRead: (path: string, code: string) => `Cannot read ${path} (${code})`,
  failed: (why: string) => `That message failed: ${why}`,
  buttons: '(type the word)',
  waiting: (service: string) => `Still waiting for an answer from ${service}…`,
  networkNote: (service: string, log: string) => `Tried ${service} (NEMO_API_URL); the cause is in ${log}.`,
};

const zh: typeof en = {
  hint: '输入消息、/upload <文件>、/help、/quit（或 Ctrl-C）',
  help: '在终端里：/upload <文件或 http(s) 链接> [消息]，/stats 查看用量，/quit 或 /exit 退出（也可按 Ctrl-C）。',
  stillRunning: '回答会在后台继续。再按一次 Ctrl-C 立即退出（未完成的请求会在下次启动时报告）。',
  quitWaiting: '等回答完成后退出。按 Ctrl-C 立即退出（未完成的请求会在下次启动时报告）。',
  usage: '用法：/upload <文件或 http(s) 链接> [消息]',
  notAFile: (path) => `这不是一个文件：${path}`,
  fileNotFound: (path) => `找不到文件：${path}`,
  cannotRead: (path, code) => `无法读取 ${path}（${code}）`,
  failed: (why) => `这条消息失败了：${why}`,
  buttons: '（输入按钮上的词）',
  waiting: (service) => `仍在等待 ${service} 的回答…`,
  networkNote: (service, log) => `尝试连接的是 ${service}（NEMO_API_URL）；原因见 ${log}。`,
};

export type ConsoleTexts = typeof en;

export function consoleTexts(language: string | undefined): ConsoleTexts {
  return language === 'zh' ? zh : en;
}

/** A reply's own language: Chinese when it holds CJK characters (the engine wrote it in the user's language). */
export function languageOfText(text: string): ConsoleLanguage {
  return /[\u3400-\u9fff]/.test(text) ? 'zh' : 'en';
}
