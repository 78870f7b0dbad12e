import { defineCatalog, type PlainKey } from '../../src/core/catalog.js';

/**
 * Sentences only the Discord adapter says (the core's catalog has the rest; the slash commands'
 * descriptions are in the command table, `src/core/commands.ts`). Each key's parameters are typed
 * by the English entry.
 */
const en = {
  notYourButtons: (p: { owner: string }) =>
    `These buttons belong to <@${p.owner}>'s project. Use /video to start your own.`,
  buttonExpired: () => 'This button has expired. Type /help to see what I can do.',
  interactionFailed: () => 'Sorry, I could not handle that. Please try again.',
  linkShownToYou: () => "I've sent you the link in a message only you can see.",
  dmRefused: () =>
    "That link is for you alone, but I couldn't send you a direct message: your privacy settings block DMs from this server's members. Allow them, or ask me in a DM.",
  dmFailed: () => "That link is for you alone, but I couldn't send you a direct message just now. Please ask me again in a DM.",
  continueNotMine: () => 'That is not one of my messages: use "Continue this project" on a message I posted about your project.',
  continueTitle: () => 'Continue this project',
  continueLabel: () => 'What should change?',
  continuePlaceholder: () => 'e.g. make the title bigger',
};

type Catalog = typeof en;

const zh: Catalog = {
  notYourButtons: (p) => `这些按钮属于 <@${p.owner}> 的项目。用 /video 开始你自己的项目吧。`,
  buttonExpired: () => '这个按钮已过期。输入 /help 查看我能做什么。',
  interactionFailed: () => '抱歉，这个操作没能完成，请再试一次。',
  linkShownToYou: () => '我已把链接发在只有你能看到的消息里。',
  dmRefused: () => '这个链接只属于你，但我无法给你发私信：你的隐私设置不允许此服务器的成员给你发私信。请允许私信，或直接私聊我再问一次。',
  dmFailed: () => '这个链接只属于你，但我暂时无法给你发私信。请直接私聊我再问一次。',
  continueNotMine: () => '这不是我发的消息：请在我发的关于你项目的消息上使用“继续这个项目”。',
  continueTitle: () => '继续这个项目',
  continueLabel: () => '想修改什么？',
  continuePlaceholder: () => '例如：把标题放大',
};

export type DiscordTextKey = keyof Catalog;
/** Keys whose sentence takes no parameters. */
export type PlainTextKey = PlainKey<Catalog>;

/** The Discord-only sentence `key` in `lang`. */
export const dt = defineCatalog({ en, zh });
