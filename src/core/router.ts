import { COMMANDS, keywordActions, typedCommands, type CommandAction, type CommandSpec } from './commands.js';

/** A command's handler key (from the command table), or what a message is when it names none. */
export type RouteAction = CommandAction | 'chat' | 'unknown_command' | 'empty';

export interface Route<Action extends string = RouteAction> {
  action: Action;
  /** What is left to relay to the agent: the chat text, a command's argument, the text sent with files, an upload URL. */
  text: string;
  /** The platform command, lower-cased, without `/` or `@botname`. */
  command?: string;
}

/*
 * Keyword rule. A message is routed by keyword only when it is essentially the command:
 * at most 6 words (or 16 characters of Chinese), and every word is either a keyword of one
 * single action or a filler word ("please", "the", "video", "show", "一下", "视频"…).
 * So "export", "export the video please", "download it", "send me the video", "导出视频",
 * "我还有多少积分" are commands, while "make a video about exporting goods from Kenya",
 * "export it to 4k" or "I don't want to download" are chat turns: one word outside both
 * lists and the agent gets the message.
 */
const MAX_WORDS = 6;
const MAX_CJK_CHARS = 16;

const EN_FILLERS = new Set([
  'please', 'pls', 'plz', 'kindly', 'now', 'thanks', 'thx', 'ok', 'okay', 'just', 'go', 'ahead',
  'the', 'my', 'this', 'that', 'it', 'me', 'a', 'an', 'us', 'i', 'you', 'can', 'could', 'would',
  'want', 'to', 'and', 'let', "let's", 'lets', 'final', 'video', 'clip', 'movie', 'mp4', 'file',
  'show', 'check', 'view', 'see', 'what', "what's", 'whats', 'is', 'are', 'how', 'many', 'much',
  'do', 'have', 'left', 'remaining', 'current', 'project', 'some', 'over', 'here',
]);

const ZH_FILLERS = [
  '请', '帮我', '麻烦', '一下', '吧', '把', '给我', '我的', '我', '视频', '文件', '成片', '查看', '看看',
  '显示', '查询', '查', '还有多少', '多少', '剩余', '还剩', '现在', '谢谢', '的', '了', '呢', '吗', '一个',
  '当前', '项目', '有',
];

const COMMAND_PATTERN = /^\/([A-Za-z0-9_]+)(?:@[A-Za-z0-9_]+)?(?:\s+([\s\S]*))?$/;
const UPLOAD_LINK_PATTERN = /^(?:upload|上传)[\s:：]*(https?:\/\/[\s\S]+)$/i;
const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

/** What the router of a command table decides: an action of the table's, or one of the message kinds. */
export type Router<Action extends string> = (text: string, hasAttachments: boolean) => Route<Action | 'upload' | 'chat' | 'unknown_command' | 'empty'>;

/** The router of `table`: its `/name` commands and its keywords (the rule above). */
export function createRouter<Action extends string = string>(table: readonly CommandSpec[]): Router<Action> {
  const commands = typedCommands(table);
  const keywords = keywordActions(table);
  // Longest first, so that "发给我" wins over "给我" and "还有多少" over "多少".
  const zhTokens = [...keywords.zh.keys(), ...ZH_FILLERS].sort((a, b) => b.length - a.length);
  const words: KeywordWords = { en: keywords.en, zh: keywords.zh, zhTokens };
  type Routed = Action | 'upload' | 'chat' | 'unknown_command' | 'empty';

  return (text, hasAttachments) => {
    const clean = sanitize(text);

    const command = COMMAND_PATTERN.exec(clean);
    if (command) {
      const name = (command[1] ?? '').toLowerCase();
      const argument = (command[2] ?? '').trim();
      // Files are never dropped: whatever the command, a message with files is an upload.
      if (hasAttachments) return { action: 'upload', text: argument, command: name };
      // A Map, not an object: `constructor` or `__proto__` must not find Object's.
      return { action: (commands.get(name) ?? 'unknown_command') as Routed, text: argument, command: name };
    }

    const keyword = keywordAction(clean, words) as Routed | undefined;
    // A command phrase sent with files is not content for the agent (it must never receive "export").
    if (hasAttachments) return { action: 'upload', text: keyword ? '' : clean };
    if (clean === '') return { action: 'empty', text: '' };
    if (keyword) return { action: keyword, text: '' };

    const link = UPLOAD_LINK_PATTERN.exec(clean);
    if (link) return { action: 'upload', text: (link[1] ?? '').trim() };

    return { action: 'chat', text: clean };
  };
}

/** Decides what a user's message asks for, before anything is sent to the agent. */
export const route: (text: string, hasAttachments: boolean) => Route = createRouter<CommandAction>(COMMANDS);

interface KeywordWords {
  en: ReadonlyMap<string, string>;
  zh: ReadonlyMap<string, string>;
  zhTokens: readonly string[];
}

/** Control characters (but newlines and tabs) and invisible direction overrides removed, trimmed. */
function sanitize(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    .trim();
}

/** The single action a short command-like message names, per the keyword rule above. */
function keywordAction(text: string, words: KeywordWords): string | undefined {
  const chunks = text
    .toLowerCase()
    .replace(/[.,!?;:~"()[\]。，！？；：、～…“”（）]/g, ' ')
    .replace(/’/g, "'")
    .split(/\s+/)
    .filter(Boolean);
  if (chunks.length === 0 || chunks.length > MAX_WORDS) return undefined;

  const found = new Set<string>();
  let cjkChars = 0;
  for (const chunk of chunks) {
    if (CJK.test(chunk)) {
      cjkChars += chunk.length;
      const actions = tokenizeChinese(chunk, words);
      if (!actions) return undefined;
      for (const action of actions) found.add(action);
    } else if (words.en.has(chunk)) {
      found.add(words.en.get(chunk) ?? '');
    } else if (!EN_FILLERS.has(chunk)) {
      return undefined;
    }
  }
  if (cjkChars > MAX_CJK_CHARS || found.size !== 1) return undefined;
  return [...found][0];
}

/** The actions named in a run of Chinese, or undefined when a character is neither keyword nor filler. */
function tokenizeChinese(chunk: string, words: KeywordWords): string[] | undefined {
  const actions: string[] = [];
  let rest = chunk;
  while (rest.length > 0) {
    const token = words.zhTokens.find((candidate) => rest.startsWith(candidate));
    if (!token) return undefined;
    const action = words.zh.get(token);
    if (action) actions.push(action);
    rest = rest.slice(token.length);
  }
  return actions;
}
