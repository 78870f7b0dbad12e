import type { Language } from '../../src/core/types.js';

/** Sentences only the Telegram adapter says, in English and Chinese (the core's catalog has the rest). */
const en = {
  fileTooBigToDownload: (p: { name: string; sizeMb?: number; limitMb: number }) =>
    `"${p.name}" is ${p.sizeMb === undefined ? `over ${p.limitMb}` : p.sizeMb} MB, but Telegram lets bots download files only up to ${p.limitMb} MB. ` +
    'Put it somewhere online (a cloud drive or your site) and send me the link: /upload <link>',
  buttonExpired: () => 'This button has expired. Type /export, /status, /credits or /new instead.',
  buttonElsewhere: () => "This button belongs to another chat, so it does nothing here.",
  buttonUnsupported: () => "I can't read this button. Type /export, /status, /credits or /new instead.",
  commandStart: () => 'Start, or show what I can do',
  commandHelp: () => 'What I can do',
  commandNew: () => 'Start a fresh project',
  commandExport: () => 'Render the video and send the MP4',
  commandCredits: () => 'Your credit balance',
  commandStatus: () => 'Show the timeline',
};

type Texts = typeof en;

const zh: Texts = {
  fileTooBigToDownload: (p) =>
    `“${p.name}”${p.sizeMb === undefined ? `超过 ${p.limitMb}` : `有 ${p.sizeMb}`} MB，但 Telegram 只允许机器人下载不超过 ${p.limitMb} MB 的文件。` +
    '请把它放到网上（网盘或你的网站），然后把链接发给我：/upload <链接>',
  buttonExpired: () => '这个按钮已过期，请输入 /export、/status、/credits 或 /new。',
  buttonElsewhere: () => '这个按钮属于另一个聊天，在这里不起作用。',
  buttonUnsupported: () => '无法识别这个按钮，请输入 /export、/status、/credits 或 /new。',
  commandStart: () => '开始，或查看我能做什么',
  commandHelp: () => '我能做什么',
  commandNew: () => '开始新项目',
  commandExport: () => '渲染并发送 MP4',
  commandCredits: () => '查看积分',
  commandStatus: () => '查看时间线',
};

const catalogs: Record<Language, Texts> = { en, zh };

type TextKey = keyof Texts;
type ParamsOf<K extends TextKey> = Parameters<Texts[K]> extends [] ? [] : [Parameters<Texts[K]>[0]];

/** The Telegram sentence `key` in `lang`. */
export function tt<K extends TextKey>(lang: Language, key: K, ...params: ParamsOf<K>): string {
  const entry = catalogs[lang][key] as (p?: unknown) => string;
  return entry(params[0]);
}
