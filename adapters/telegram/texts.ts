import { defineCatalog } from '../../src/core/catalog.js';

/** Sentences only the Telegram adapter says, in English and Chinese (the core's catalog has the rest). */
const en = {
  fileTooBigToDownload: (p: { name: string; sizeMb?: number; limitMb: number }) =>
    `"${p.name}" is ${p.sizeMb === undefined ? `over ${p.limitMb}` : p.sizeMb} MB, but Telegram lets bots download files only up to ${p.limitMb} MB. ` +
    'Put it somewhere online (a cloud drive or your site) and send me the link: /upload <link>',
  buttonExpired: () => 'This button has expired. Type /export, /status, /credits or /new instead.',
  buttonElsewhere: () => "This button belongs to another chat, so it does nothing here.",
  buttonNotYours: () => "These buttons belong to someone else's project. Ask me yourself to start your own.",
  buttonUnsupported: () => "I can't read this button. Type /export, /status, /credits or /new instead.",
  linkPressStart: () => "That link is for you alone: press the button to open a private chat with me, then press Start, and I'll send it there.",
  linkOpenPrivateChat: () => 'That link is for you alone: open a private chat with me, press Start, and ask me again there.',
  linkButton: () => 'Get my link privately',
  linkExpired: () => "That link has expired or was already sent. Ask me again in the group (for example /status) and I'll send a fresh one.",
  linkNotYours: () => 'That button was meant for someone else, so there is no link for you here. Ask me in the group yourself to get your own.',
};

type Texts = typeof en;

const zh: Texts = {
  fileTooBigToDownload: (p) =>
    `“${p.name}”${p.sizeMb === undefined ? `超过 ${p.limitMb}` : `有 ${p.sizeMb}`} MB，但 Telegram 只允许机器人下载不超过 ${p.limitMb} MB 的文件。` +
    '请把它放到网上（网盘或你的网站），然后把链接发给我：/upload <链接>',
  buttonExpired: () => '这个按钮已过期，请输入 /export、/status、/credits 或 /new。',
  buttonElsewhere: () => '这个按钮属于另一个聊天，在这里不起作用。',
  buttonNotYours: () => '这些按钮属于别人的项目。你可以直接问我，开始你自己的项目。',
  buttonUnsupported: () => '无法识别这个按钮，请输入 /export、/status、/credits 或 /new。',
  linkPressStart: () => '这个链接只属于你：点击下面的按钮打开与我的私聊，再点“开始”，我会在那里发给你。',
  linkOpenPrivateChat: () => '这个链接只属于你：请打开与我的私聊，点“开始”，然后在那里再问我一次。',
  linkButton: () => '私下获取我的链接',
  linkExpired: () => '这个链接已过期或已发送过。请在群里再问我一次（例如 /status），我会发一个新的。',
  linkNotYours: () => '这个按钮是给别人的，这里没有你的链接。请你自己在群里问我，获取你自己的链接。',
};

/** The Telegram sentence `key` in `lang`. */
export const tt = defineCatalog({ en, zh });
