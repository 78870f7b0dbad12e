import type { MessageKey } from './i18n.js';

/**
 * The one table of commands. The router's `/name` and keyword recognition, Telegram's menu and
 * its commands that address the bot in groups, Discord's slash commands and the buttons under
 * an answer are all generated from it: adding a command means a row here, its handler (a function
 * in a `*-commands.ts` file, named in the engine's handler map) and its reply texts in `i18n.ts`.
 */

/** A button's label: a `button…` sentence of `i18n.ts`. */
export type ButtonLabelKey = Extract<MessageKey, `button${string}`>;

export interface Localized {
  readonly en: string;
  readonly zh: string;
}

/** An option of a Discord slash command. */
export interface SlashOption {
  readonly name: string;
  /** Lower case, at most 32 letters (Discord's rule); Chinese characters qualify. */
  readonly nameZh: string;
  readonly description: Localized;
  /** `text`: the words of the message (routed like a typed one); `file`: an attachment sent with it. */
  readonly kind: 'text' | 'file';
  readonly required: boolean;
  readonly maxLength?: number;
}

export interface CommandSpec {
  /** As typed after `/`: lower case. */
  readonly name: string;
  /**
   * The engine's handler for `/name` (see the engine's handler map). Absent: not a typed
   * command; it exists on a platform only (Discord's `/video` carries a message).
   */
  readonly action?: string;
  /**
   * Words that ask for this command in a short message ("export the video please", "导出视频"):
   * see the router's keyword rule. Each word names one command only.
   */
  readonly keywords?: { readonly en: readonly string[]; readonly zh: readonly string[] };
  /**
   * Telegram: a bare `/name` addresses this bot in a group (without `@botname`); listed in the
   * command menu when it has a description.
   */
  readonly telegram?: { readonly description?: Localized };
  /** A Discord slash command; `order` is its place in the registered list. */
  readonly discord?: {
    readonly order: number;
    /** Lower case, at most 32 letters; Chinese characters qualify. */
    readonly nameZh: string;
    readonly description: Localized;
    readonly options?: readonly SlashOption[];
  };
  /** Also a button under an answer, at place `order` in the row; pressing it is typing `/name`. */
  readonly button?: { readonly order: number; readonly label: ButtonLabelKey };
  /** A button of the `/projects` list, one per project (labelled with its title): pressing it is `/name <project ref>`. */
  readonly projectButton?: true;
}

// Telegram's menu follows this order.
export const COMMANDS = [
  {
    name: 'start',
    action: 'start',
    telegram: { description: { en: 'Start, or show what I can do', zh: '开始，或查看我能做什么' } },
  },
  {
    name: 'help',
    action: 'help',
    telegram: { description: { en: 'What I can do', zh: '我能做什么' } },
    discord: { order: 5, nameZh: '帮助', description: { en: 'What I can do', zh: '我能做什么' } },
  },
  {
    name: 'new',
    action: 'new',
    telegram: { description: { en: 'Start a fresh project', zh: '开始新项目' } },
    discord: { order: 4, nameZh: '新项目', description: { en: 'Start a fresh project', zh: '开始新项目' } },
    button: { order: 3, label: 'buttonNew' },
  },
  {
    name: 'projects',
    action: 'projects',
    keywords: { en: ['projects'], zh: ['项目列表', '我的项目', '所有项目'] },
    telegram: { description: { en: 'Your projects: switch between them', zh: '我的项目：切换项目' } },
    discord: { order: 6, nameZh: '项目', description: { en: 'Your projects here: switch between them', zh: '你在这里的项目：切换项目' } },
    button: { order: 4, label: 'buttonProjects' },
  },
  // `/switch N`: the N-th project of `/projects` (the terminal's way; chats also have its buttons).
  { name: 'switch', action: 'switch', telegram: {}, projectButton: true },
  {
    name: 'export',
    action: 'export',
    keywords: { en: ['export', 'download', 'render', 'send'], zh: ['导出', '下载', '发给我'] },
    telegram: { description: { en: 'Render the video and send the MP4', zh: '渲染并发送 MP4' } },
    discord: { order: 1, nameZh: '导出', description: { en: 'Render the video and post the MP4', zh: '渲染视频并发送 MP4' } },
    button: { order: 0, label: 'buttonExport' },
  },
  {
    name: 'credits',
    action: 'credits',
    keywords: { en: ['credits', 'credit', 'balance'], zh: ['积分', '余额'] },
    telegram: { description: { en: 'Your credit balance', zh: '查看积分' } },
    discord: { order: 2, nameZh: '积分', description: { en: 'Show your credit balance', zh: '查看积分余额' } },
    button: { order: 2, label: 'buttonCredits' },
  },
  {
    name: 'status',
    action: 'status',
    keywords: { en: ['status', 'tracks', 'track', 'timeline'], zh: ['状态', '时间线', '轨道'] },
    telegram: { description: { en: 'Show the timeline', zh: '查看时间线' } },
    discord: { order: 3, nameZh: '状态', description: { en: 'Show the timeline of your project', zh: '查看项目时间线' } },
    button: { order: 1, label: 'buttonStatus' },
  },
  {
    name: 'upload',
    action: 'upload',
    keywords: { en: ['upload'], zh: ['上传'] },
    telegram: {},
  },
  // A token posted in a Telegram group must be deleted (or its owner warned), not ignored.
  { name: 'login', action: 'login', telegram: {} },
  { name: 'logout', action: 'logout' },
  { name: 'stats', action: 'stats' },
  {
    name: 'video',
    discord: {
      order: 0,
      nameZh: '视频',
      description: { en: 'Make or edit a video: describe what you want', zh: '制作或编辑视频：描述你想要的效果' },
      options: [
        {
          name: 'prompt',
          nameZh: '描述',
          description: { en: 'What to make or change', zh: '要制作或修改的内容' },
          kind: 'text',
          required: true,
          maxLength: 4000,
        },
        {
          name: 'file',
          nameZh: '文件',
          description: { en: 'A video, picture, audio file or document to use', zh: '要使用的视频、图片、音频或文档' },
          kind: 'file',
          required: false,
        },
      ],
    },
  },
] as const satisfies readonly CommandSpec[];

type Row = (typeof COMMANDS)[number];

/** The engine's handler key of a typed command. */
export type CommandAction = Extract<Row, { action: string }>['action'];

/** A command that is also a button (under answers, or in the project list): the action a button names. */
export type ButtonAction = Extract<Row, { button: object }>['name'] | Extract<Row, { projectButton: true }>['name'];

/** The buttons' actions and labels (keys into `i18n.ts`), in their order under an answer. */
export function buttonRows(table: readonly CommandSpec[] = COMMANDS): Array<{ action: string; label: ButtonLabelKey }> {
  return table
    .flatMap((row) => (row.button ? [{ action: row.name, ...row.button }] : []))
    .sort((a, b) => a.order - b.order)
    .map(({ action, label }) => ({ action, label }));
}

/** The button actions: those under an answer in their order, then the project list's (a tuple, as `z.enum` takes it). */
export const BUTTON_ACTIONS = [...buttonRows().map((row) => row.action), ...COMMANDS.filter((row) => 'projectButton' in row).map((row) => row.name)] as [
  ButtonAction,
  ...ButtonAction[],
];

/** The action of a project list's buttons. */
export const PROJECT_BUTTON_ACTION = COMMANDS.find((row) => 'projectButton' in row)?.name as Extract<Row, { projectButton: true }>['name'];

/** The commands the router knows as `/name`, by name. */
export function typedCommands(table: readonly CommandSpec[] = COMMANDS): ReadonlyMap<string, string> {
  return new Map(table.flatMap((row) => (row.action === undefined ? [] : [[row.name, row.action] as const])));
}

/** Each keyword, lower-cased, with its command's action, per language. */
export function keywordActions(table: readonly CommandSpec[] = COMMANDS): { en: ReadonlyMap<string, string>; zh: ReadonlyMap<string, string> } {
  const en = new Map<string, string>();
  const zh = new Map<string, string>();
  for (const row of table) {
    if (!row.keywords || row.action === undefined) continue;
    for (const word of row.keywords.en) en.set(word.toLowerCase(), row.action);
    for (const word of row.keywords.zh) zh.set(word, row.action);
  }
  return { en, zh };
}

/** Telegram's menu in `lang`, in table order: the payload of `setMyCommands`. */
export function telegramMenu(lang: keyof Localized, table: readonly CommandSpec[] = COMMANDS): Array<{ command: string; description: string }> {
  return table.flatMap((row) => (row.telegram?.description ? [{ command: row.name, description: row.telegram.description[lang] }] : []));
}

/** Commands that address the bot in a Telegram group without `@botname`. */
export function telegramKnownCommands(table: readonly CommandSpec[] = COMMANDS): ReadonlySet<string> {
  return new Set(table.flatMap((row) => (row.telegram ? [row.name] : [])));
}

export interface SlashCommand {
  name: string;
  nameZh: string;
  description: Localized;
  options: readonly SlashOption[];
}

/** Discord's slash commands, in their registered order (platform-neutral: the adapter makes the API JSON). */
export function slashCommands(table: readonly CommandSpec[] = COMMANDS): SlashCommand[] {
  return table
    .flatMap((row) => (row.discord ? [{ row, discord: row.discord }] : []))
    .sort((a, b) => a.discord.order - b.discord.order)
    .map(({ row, discord }) => ({ name: row.name, nameZh: discord.nameZh, description: discord.description, options: discord.options ?? [] }));
}

/** The slash command named `name`, or undefined when there is none. */
export function slashCommand(name: string, table: readonly CommandSpec[] = COMMANDS): SlashCommand | undefined {
  return slashCommands(table).find((command) => command.name === name);
}
