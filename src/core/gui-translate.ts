/**
 * The agent believes the user has NemoVideo's editor on screen ("click Export", "preview it
 * in the timeline", "点击导出按钮"). In a chat those directions are wrong: the bot drops them,
 * keeps what the agent says about the content, and reports what the directions were about so
 * that the engine can offer the matching action itself ("Say export to render it").
 */

export type GuiIntent = 'export' | 'status' | 'credits';

export interface TranslatedText {
  /** The agent's text without GUI directions; '' when nothing else was said (the engine decides what to send then). */
  text: string;
  /** What the dropped directions were about, each once, in order of appearance. */
  intents: GuiIntent[];
}

// A clause is a GUI direction when one of these matches. Verbs that exist only in an editor
// (click, tap, drag) always do; others only with an editor element or an address to the user,
// so that "the title appears in the middle" or "I added calm music" are kept. The verb and its
// object sit within a bounded window: an unbounded `.*` rescans the rest of the text from every
// verb, quadratic time on a long hostile answer.
const GUI_DIRECTIONS: readonly RegExp[] = [
  /\b(?:double-|right-)?(?:click|tap)(?:s|ed|ing)?\b/i,
  /\b(?:press|hit)\b.{0,160}\b(?:button|icon|key)\b/i,
  /\bdrag(?:s|ged|ging)?\b|\bdrop (?:it|them|the|your|this|a)\b/i,
  /\b(?:open|go to|navigate to|head(?: over)? to|switch to|scroll(?: down| up)? to)\b.{0,160}\b(?:editor|timeline|panel|tab|menu|settings|sidebar|toolbar|workspace|dashboard|library|page|window|player|preview|project)\b/i,
  /\b(?:preview|play|watch|review|view|see|check)\b.{0,160}\b(?:in|on|from|using) (?:the |your )?(?:timeline|preview(?: window| panel| area)?|player|editor|canvas|panel|workspace)\b/i,
  /\b(?:export|download|render)\s+(?:button|option|menu)\b/i,
  /\b(?:you can|you may|you could|you'll be able to|feel free to|go ahead and|please|simply|just|ready to)\s+(?:now\s+)?(?:export|download|render)\b/i,
  /^(?:now\s+|then\s+|and\s+)?(?:export|download)\b/i,
  /\b(?:check|visit|open|see|review|go to|manage)\b.{0,160}\b(?:account|billing|subscription|balance|pricing)\b/i,
  /\b(?:top up|top-up|recharge|upgrade your (?:plan|account|subscription))\b/i,
  /点击|单击|双击|右键|轻点|点按/,
  /拖拽|拖动|拖到|拖入|拖放|拖至/,
  /(?:打开|进入|前往|切换到)[^。！？]{0,60}?(?:编辑器|时间线|时间轴|面板|菜单|设置|预览|项目|工作区|工作台|页面|窗口|播放器|素材库|媒体库|工具栏|侧边栏|标签)/,
  /(?:预览|查看|播放|检查)[^。！？]{0,60}?(?:时间线|时间轴|预览窗口|预览区|播放器|编辑器|画布)|在(?:时间线|时间轴|预览窗口|预览区|播放器|编辑器|画布)[上中里内]?[^。！？]{0,60}?(?:预览|查看|播放)/,
  /(?:导出|下载)按钮|(?:可以|即可|就能|就可以|请)[^。！？]{0,60}?(?:导出|下载)|^(?:现在|然后)?(?:导出|下载)/,
  /(?:查看|检查|前往|进入|打开)[^。！？]{0,60}?(?:账户|账号|账单|订阅|余额|计费|套餐)|充值|升级(?:您的|你的)?(?:套餐|账户|会员)/,
];

const INTENT_WORDS: ReadonlyArray<readonly [GuiIntent, RegExp]> = [
  ['export', /\b(?:export|download|render)|导出|下载|渲染/i],
  ['status', /\b(?:timeline|tracks?|preview|open)\b|时间线|时间轴|轨道|预览|打开/i],
  ['credits', /\b(?:account|billing|subscription|balance|credits?|pricing|plan|top.?up|recharge)\b|积分|余额|账户|账号|账单|订阅|充值|套餐/i],
];

// "Once you're happy, click Export": the lead-in belongs to the direction it introduces.
const LEAD_IN = /^(?:when|once|after|if|whenever|as soon as|before|to)\b|^(?:当|如果|如需|若|等|待)|(?:后|之后|以后|时|的话)$/i;
const CONNECTOR = /^(?:and|then|so|or|but)\s+/i;
const LIST_MARKER = /^(\s*(?:[-*•]|\d+[.)])\s+)/;
// English sentences end at . ! ? followed by a space; Chinese ones after 。！？ with no space.
const SENTENCE_BREAK = /(?<=[.!?])(?=\s)|(?<=[。！？])/;
// Clause breaks: semicolons, dashes, Chinese commas, and an English comma before a new direction.
const CLAUSE_BREAK =
  /(;\s*|；|\s[—–]\s|，|,\s+(?=(?:and|then|so|or|but|you|please|just|simply|click|tap|open|drag|preview|check|head|go|feel|now|export|download)\b))/i;

export function translateAgentText(text: string): TranslatedText {
  const intents: GuiIntent[] = [];
  const note = (clause: string) => {
    for (const [intent, words] of INTENT_WORDS) {
      if (words.test(clause) && !intents.includes(intent)) intents.push(intent);
    }
  };

  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const kept: string[] = [];
  for (const line of lines) {
    const marker = LIST_MARKER.exec(line)?.[1] ?? '';
    const body = line.slice(marker.length);
    if (body.trim() === '') {
      kept.push('');
      continue;
    }
    const sentences = body
      .split(SENTENCE_BREAK)
      .map((sentence) => translateSentence(sentence, note))
      .filter((sentence) => sentence.trim() !== '');
    if (sentences.length > 0) kept.push(marker + sentences.join('').trim());
  }

  const result = kept.join('\n').replace(/\n{3,}/g, '\n\n').trim();
  return { text: result, intents };
}

function isDirection(clause: string): boolean {
  const trimmed = clause.trim().replace(CONNECTOR, '');
  return GUI_DIRECTIONS.some((pattern) => pattern.test(trimmed));
}

/** The sentence without its GUI clauses; the original text untouched when nothing is dropped. */
function translateSentence(sentence: string, note: (clause: string) => void): string {
  // split with a capture group alternates clause, separator, clause…
  const parts = sentence.split(CLAUSE_BREAK);
  const clauses: Array<{ text: string; separator: string; drop: boolean }> = [];
  for (let i = 0; i < parts.length; i += 2) {
    const clauseText = parts[i] ?? '';
    clauses.push({ text: clauseText, separator: parts[i - 1] ?? '', drop: isDirection(clauseText) });
  }
  if (!clauses.some((clause) => clause.drop)) return sentence;

  for (let i = 0; i < clauses.length - 1; i++) {
    const clause = clauses[i];
    if (clause && !clause.drop && clauses[i + 1]?.drop && LEAD_IN.test(clause.text.trim())) clause.drop = true;
  }
  for (const clause of clauses) if (clause.drop) note(clause.text);

  const leading = /^\s*/.exec(sentence)?.[0] ?? '';
  const terminal = /[.!?。！？]\s*$/.exec(sentence)?.[0].trim() ?? '';
  let out = '';
  for (const clause of clauses) {
    if (clause.drop) continue;
    out += out === '' ? clause.text.trim().replace(CONNECTOR, '') : clause.separator + clause.text;
  }
  out = out.trim();
  if (out === '') return '';
  out = out.charAt(0).toUpperCase() + out.slice(1);
  if (!/[.!?。！？]$/.test(out)) out += terminal || (/[\u3400-\u9fff]$/.test(out) ? '。' : '.');
  return leading + out;
}
