import { defineCatalog } from './catalog.js';
import type { Language } from './types.js';

/**
 * Every sentence the bot says, in English and Chinese. A key's parameters are typed by the
 * English entry, so a translation cannot forget one.
 */
const en = {
  welcome: () =>
    'Hi! I make and edit videos with NemoVideo\'s AI agent. Tell me what to make, for example:\n' +
    '• "Turn this blog intro into a 30-second explainer video"\n' +
    '• "Make a 10-second city timelapse with lo-fi music"\n' +
    '• Send a clip, a picture, a song or a document and say what to do with it.\n' +
    'Say "export" when you want the MP4; /help lists what else I can do.',
  welcomeLine: () => 'Welcome! I make and edit videos with NemoVideo\'s AI agent: describe one, or type /help.',
  help: () =>
    'I make and edit videos with NemoVideo\'s AI agent. Just describe what you want.\n' +
    '• /export: render the video and send the MP4\n' +
    '• /status: show the timeline\n' +
    '• /credits: your credit balance\n' +
    '• /new: start a fresh project\n' +
    '• /projects: your projects here, to switch between them\n' +
    '• Reply to any of my messages about a project (its video too) to keep editing that project.\n' +
    '• Send a video, picture, audio or document (txt, md, docx, pdf) to use it.',
  newProject: () => 'Started a fresh project. What shall we make? (Your earlier ones are under /projects.)',
  projectsList: (p: { lines: string }) =>
    `Your projects in this chat, the latest first:\n${p.lines}\nSwitch with the buttons or /switch N; replying to a project's message continues it too.`,
  projectsNone: () => 'You have no projects in this chat yet. Describe a video to start one.',
  projectLine: (p: { n: number; title: string; ago: string; exports: number; current: boolean }) =>
    `${p.n}. ${p.title} · ${p.ago} · ${p.exports === 1 ? '1 export' : `${p.exports} exports`}${p.current ? ' (current)' : ''}`,
  projectUntitled: () => 'Untitled project',
  agoMinutes: (p: { n: number }) => (p.n < 1 ? 'just now' : `${p.n} min ago`),
  agoHours: (p: { n: number }) => `${p.n} h ago`,
  agoDays: (p: { n: number }) => (p.n === 1 ? '1 day ago' : `${p.n} days ago`),
  switchedTo: (p: { title: string }) => `Switched to “${p.title}”. What shall we change?`,
  alreadyCurrent: (p: { title: string }) => `“${p.title}” is already your current project.`,
  continuing: (p: { title: string }) => `Back to “${p.title}”.`,
  switchUsage: (p: { count: number }) => `Type /switch N with a number from 1 to ${p.count} (see /projects).`,
  projectGone: () => 'That project has expired or is no longer available. Type /projects to see yours.',
  replyNotYours: () =>
    "That message belongs to someone else's project, so only they can continue it. Send your own message (or continue one of your own results) to work on yours.",
  statusProject: (p: { title: string; versions: string }) => `Project: ${p.title}\nVersions: ${p.versions}`,
  statusNoVersions: () => 'none exported yet',
  sessionReplaced: () => 'Your previous project had expired, so I started a fresh one.',
  emptyMessage: () => 'Your message was empty. Describe the video you want, or type /help.',
  tooLong: (p: { max: number }) => `That message is too long (over ${p.max} characters). Please shorten it.`,
  unknownCommand: (p: { command: string }) => `I don't know the command ${p.command}. Type /help to see what I can do.`,
  queued: (p: { position: number }) =>
    p.position === 1 ? "Got it. I'll do that as soon as the current step finishes." : `Got it. That's queued (${p.position} waiting).`,
  thinking: () => 'Working on it…',
  generating: () => 'Generating your video. This usually takes a few minutes; I\'ll keep you posted.',
  editing: () => 'Editing the timeline…',
  doneTurn: () => 'Done.',
  turnStopped: () => 'Stopped.',
  doneGenerated: () => 'Done: video generated.',
  recoveryFailedShort: () => 'Could not confirm the result.',
  stillWorking: (p: { minutes: number }) => `Still working… (${p.minutes} min so far)`,
  rawVideoReady: () => 'The raw video is ready. Adding the finishing touches (music, title, effects)…',
  postProduction: (p: { timeline: string }) =>
    `Post-production added some tracks:\n${p.timeline}\nKeep them, or say e.g. "remove the music" or "remove the title".`,
  changed: (p: { lines: string }) => `What changed:\n${p.lines}`,
  noChange: () => "Done, but I couldn't see any change in the timeline. Try describing the edit differently?",
  nextSteps: () => 'Next: say "export" for the MP4, "status" to see the timeline, or describe another edit.',
  exportHint: () => 'Say "export" when you want the MP4.',
  incomplete: (p: { text: string }) => `${p.text}\n(incomplete: the connection broke)`,
  recovering: () => 'The connection to the video service broke. Checking whether your request went through…',
  restarting: () => "I'm restarting. Your request is still being worked on; I'll report the result when I'm back.",
  resumed: () => "I'm back. Checking the result of your last request…",
  restartingTryAgain: () => "I'm restarting right now. Please send that again in a minute.",
  recovered: (p: { lines: string }) => `Your request went through. What changed:\n${p.lines}`,
  recoveryFailed: () =>
    "I couldn't confirm that your request went through. Nothing was charged twice. Send it again if you'd like me to retry.",
  modelRefused: () => 'The video agent declined that request. Try rephrasing it.',
  modelTrouble: () =>
    'The video agent ran into a temporary problem and stopped early. Please try again in a moment.',
  answerCutShort: () => '(The answer was cut short.)',
  turnProblem: () => 'Stopped: the video agent hit a problem.',
  agentFailedRecovering: () => 'The video agent hit a problem. Checking whether your request went through…',
  incompleteStopped: (p: { text: string }) => `${p.text}\n(incomplete: the answer stopped here)`,
  serviceError: () => 'The video service had a problem with that request. Please try again in a moment.',
  networkError: () => "I can't reach the video service right now. Please try again in a minute.",
  noFreeAccounts: () =>
    "NemoVideo isn't giving out more free accounts to this bot right now. The bot's operator can fix this; you can also /login with your own NemoVideo token in a private chat.",
  rateLimited: () => 'The video service is busy. Please try again in a minute.',
  noCredits: (p: { link: string }) => `You're out of credits. Register to get more: ${p.link}`,
  noCreditsRegistered: () => "You're out of credits. Top up at nemovideo.com to continue.",
  noCreditsPublic: () => "You're out of credits. Register to get more.",
  linkSentPrivately: () => "I've sent you the link in a private message.",
  unsupportedFile: (p: { name: string; formats: string }) =>
    `I can't use "${p.name}": that file type isn't supported. Accepted: ${p.formats}, and documents (txt, md, docx, pdf).`,
  fileTooLarge: (p: { name: string; maxMb: number }) =>
    `"${p.name}" is too large (the limit is ${p.maxMb} MB). Try compressing or trimming it.`,
  fileNotFetched: (p: { name: string }) => `"${p.name}" could not be fetched from the chat service. Please send it again (with your words).`,
  documentUnreadable: (p: { name: string }) => `I couldn't read the text in "${p.name}". Is it a valid document?`,
  voiceNoteUnconvertible: (p: { name: string; formats: string }) =>
    `I couldn't convert the voice note "${p.name}" into audio I can use. Please send the audio as one of: ${p.formats}.`,
  convertingVoiceNote: (p: { name: string }) => `Converting the voice note ${p.name}…`,
  documentTruncated: (p: { name: string; chars: number }) => `"${p.name}" is long, so I used its first ${p.chars} characters.`,
  documentPagesRead: (p: { name: string; pages: number }) => `"${p.name}" has many pages, so I used its first ${p.pages}.`,
  documentLeftOut: (p: { name: string }) => `"${p.name}" didn't fit in this message with the rest, so I left it out. Send it on its own to use it.`,
  documentTooComplex: (p: { name: string }) => `This document is too large or too complex to read: "${p.name}". Try a shorter or simpler file, or paste the text.`,
  documentsBusy: (p: { name: string }) => `I'm reading a lot of documents right now. Please send "${p.name}" again in a minute.`,
  uploading: (p: { name: string }) => `Uploading ${p.name}…`,
  uploaded: (p: { names: string }) => `Uploaded: ${p.names}. Tell me what to do with it.`,
  uploadedWithWords: (p: { names: string }) => `Uploaded: ${p.names}.`,
  uploadUsage: () => 'Send a file, or /upload followed by a link to a video, picture or audio file.',
  credits: (p: { available: number; frozen: number; total: number }) =>
    `Credits: ${p.available} available` + (p.frozen > 0 ? `, ${p.frozen} reserved by running work` : '') + ` (${p.total} total).\nGenerating a clip costs about 100, editing about 50, export is free.`,
  nothingToExport: () => 'There is nothing to export yet. Describe a video first and I\'ll generate it.',
  renderQueued: () => "Rendering… I'll post the progress as it goes.",
  renderProgress: (p: { percent: number }) => `Rendering… ${p.percent} %`,
  renderDownloading: () => 'Rendered. Sending the video…',
  clipPreview: () => 'Raw clip, as generated (export for the final cut):',
  videoFitting: (p: { platform: string; percent: number }) => `Fitting the video for ${p.platform}… ${p.percent} %`,
  videoFitted: (p: { url: string; link: string; version?: number; replies: boolean }) =>
    `Video ready${p.version === undefined ? '' : `: v${p.version}`}, made smaller to fit here.` +
    (p.version !== undefined && p.replies ? ' Reply to this message to change it.' : '') +
    ` Full quality: ${p.url}` +
    (p.link ? `\nProject: ${p.link}` : ''),
  videoDescription: (p: { title: string; height: number; length: string }) => `${p.title}: ${p.height}p video, ${p.length}`,
  videoReady: (p: { link: string }) => `Video ready. Project: ${p.link}`,
  videoReadyNoLink: () => 'Video ready.',
  videoReadyVersion: (p: { version: number; link: string; replies: boolean }) =>
    `Video ready: v${p.version}.${p.replies ? ' Reply to this message to change it.' : ''}${p.link === '' ? '' : ` Project: ${p.link}`}`,
  videoAsLink: (p: { url: string; link: string }) =>
    `Video ready. It's too large to upload here, so here's the download link: ${p.url}` + (p.link ? `\nProject: ${p.link}` : ''),
  videoAsLinkRefused: (p: { url: string; link: string }) =>
    `Video ready. I couldn't upload the file here, so here's the download link: ${p.url}` + (p.link ? `\nProject: ${p.link}` : ''),
  videoInProject: (p: { link: string }) => `Video ready. I couldn't send the file here; download it from your project: ${p.link}`,
  videoSentAsLink: () => 'Video ready: sent as a link, since the file could not be uploaded here.',
  renderFailed: (p: { reason: string }) => `The render failed (${p.reason}). Say "export" to try again.`,
  failureService: (p: { text: string }) => p.text,
  failureStatus: (p: { status: number; code: string }) => `NemoVideo answered ${p.status}${p.code === '' ? '' : ` (code ${p.code})`}`,
  failureNoAnswer: () => 'NemoVideo did not answer',
  failureInternal: () => 'an internal error',
  failureUnknown: () => 'unknown error',
  renderTimedOut: () => 'The render is taking much longer than usual, so I stopped waiting. Say "export" to try again.',
  exportNeedsAccount: (p: { link: string }) =>
    `Exporting needs a registered NemoVideo account (it's not a credit problem). Register here, then say "export" again: ${p.link}`,
  projectLink: (p: { link: string }) => `Open the project in your browser: ${p.link}`,
  exportNeedsAccountPublic: () => 'Exporting needs a registered NemoVideo account (it\'s not a credit problem). Register, then say "export" again.',
  videoInProjectPublic: () => "Video ready. I couldn't send the file here; you can download it from your project.",
  somethingWrong: () => 'Something went wrong on my side. Please try again.',
  storageUnavailable: () => "My storage (Redis) isn't answering right now, so nothing was done. Please try again in a minute.",
  notAllowed: () => "Sorry, this bot is private. Ask its operator for access if you think you should have it.",
  quotaTurns: (p: { limit: number; resetsIn: string }) => `You've used today's ${p.limit} requests. The limit resets in ${p.resetsIn}.`,
  quotaRenders: (p: { limit: number; resetsIn: string }) => `You've used today's ${p.limit} exports. The limit resets in ${p.resetsIn}.`,
  quotaUploads: (p: { limit: number; resetsIn: string }) =>
    `You've used today's ${p.limit} uploads, so I didn't upload that. The limit resets in ${p.resetsIn}.`,
  queueFull: (p: { waiting: number }) =>
    `You have ${p.waiting === 1 ? 'a message' : `${p.waiting} messages`} waiting; I'll get to ${p.waiting === 1 ? 'it' : 'them'}. Please wait for the answers: messages sent meanwhile are skipped.`,
  slowDown: (p: { limit: number }) =>
    `You're sending messages faster than I can take them (at most ${p.limit} a minute). I'll ignore new ones for up to a minute; please wait a moment.`,
  tooManyLinks: (p: { max: number }) =>
    `That message has too many links to upload: I take at most ${p.max} per message. Please send them in smaller batches.`,
  renderRunning: (p: { status: string }) =>
    `This project is already rendering (${p.status}). I'll send the video here when it's ready; no need to export again.`,
  renderStatusStarting: () => 'starting',
  renderStatusPercent: (p: { percent: number }) => `${p.percent} %`,
  duration: (p: { hours: number; minutes: number }) => (p.hours > 0 ? `${p.hours} h ${p.minutes} min` : `${p.minutes} min`),
  loginPrivateOnly: () => 'For your safety, send /login only in a private chat with me. If you posted a token here, revoke it at nemovideo.com.',
  loginDeletedPrivateOnly: () => 'For your safety, send /login only in a private chat with me. I deleted your message so your token does not stay here.',
  loginNotDeleted: () =>
    "I couldn't delete your message (I'm not allowed to delete messages here), so everyone in this chat can see your token. " +
    'Revoke it at nemovideo.com and make a new one, then send /login with the new token in a private chat with me.',
  loginDisabled: () => "Personal tokens aren't enabled on this bot (the operator has not set TOKEN_ENCRYPTION_KEY).",
  loginUsage: () => 'Send /login followed by your NemoVideo token, in a private chat.',
  loginDone: () => "You're logged in with your own NemoVideo account. I deleted your message where I could. /logout forgets the token.",
  loginInvalid: () => "NemoVideo didn't accept that token. Check it and try again.",
  logoutDone: () => "Done: I've forgotten your token. New projects use the bot's account again.",
  adminOnly: () => 'Only the bot\'s admins can use that command.',
  stats: (p: { users: number; turns: number; renders: number; inFlight: number; credits: string }) =>
    `Users: ${p.users}\nTurns today: ${p.turns}\nExports today: ${p.renders}\nRenders in flight: ${p.inFlight}\nCredits: ${p.credits}`,
  buttonExport: () => 'Export',
  buttonStatus: () => 'Status',
  buttonCredits: () => 'Credits',
  buttonNew: () => 'New project',
  buttonProjects: () => 'Projects',
};

type Catalog = typeof en;

const zh: Catalog = {
  welcome: () =>
    '你好！我用 NemoVideo 的 AI 助手制作和编辑视频。告诉我你想做什么，例如：\n' +
    '• “把这篇博客开头做成 30 秒的讲解视频”\n' +
    '• “做一个 10 秒的城市延时视频，配上 lo-fi 音乐”\n' +
    '• 发送视频、图片、音乐或文档，并说明要怎么用。\n' +
    '需要 MP4 时说“导出”；输入 /help 查看更多功能。',
  welcomeLine: () => '欢迎！我用 NemoVideo 的 AI 助手制作和编辑视频：描述你想要的视频，或输入 /help。',
  help: () =>
    '我用 NemoVideo 的 AI 助手制作和编辑视频，直接描述你想要的效果即可。\n' +
    '• /export：渲染并发送 MP4\n' +
    '• /status：查看时间线\n' +
    '• /credits：查看积分\n' +
    '• /new：开始新项目\n' +
    '• /projects：你在这里的项目，可切换\n' +
    '• 回复我关于某个项目的任何消息（包括视频），即可继续编辑那个项目。\n' +
    '• 发送视频、图片、音频或文档（txt、md、docx、pdf）即可使用。',
  newProject: () => '已开始新项目。想做点什么？（之前的项目在 /projects 里。）',
  projectsList: (p) => `你在这个聊天中的项目（最近的在前）：\n${p.lines}\n用按钮或 /switch 编号 切换；回复某个项目的消息也能继续编辑它。`,
  projectsNone: () => '你在这个聊天中还没有项目。描述一个视频就能开始。',
  projectLine: (p) => `${p.n}. ${p.title} · ${p.ago} · 导出 ${p.exports} 次${p.current ? '（当前）' : ''}`,
  projectUntitled: () => '未命名项目',
  agoMinutes: (p) => (p.n < 1 ? '刚刚' : `${p.n} 分钟前`),
  agoHours: (p) => `${p.n} 小时前`,
  agoDays: (p) => `${p.n} 天前`,
  switchedTo: (p) => `已切换到“${p.title}”。想改点什么？`,
  alreadyCurrent: (p) => `“${p.title}”已经是你的当前项目。`,
  continuing: (p) => `回到“${p.title}”。`,
  switchUsage: (p) => `请输入 /switch 加 1 到 ${p.count} 的编号（见 /projects）。`,
  projectGone: () => '这个项目已过期或不可用。输入 /projects 查看你的项目。',
  replyNotYours: () => '这条消息属于别人的项目，只有项目的主人可以继续编辑。发送你自己的消息（或继续你自己的结果）来编辑你的项目。',
  statusProject: (p) => `项目：${p.title}\n版本：${p.versions}`,
  statusNoVersions: () => '还没有导出',
  sessionReplaced: () => '之前的项目已过期，我为你开始了一个新项目。',
  emptyMessage: () => '消息是空的。请描述你想要的视频，或输入 /help。',
  tooLong: (p) => `消息太长了（超过 ${p.max} 个字符），请精简一下。`,
  unknownCommand: (p) => `我不认识命令 ${p.command}。输入 /help 查看我能做什么。`,
  queued: (p) => (p.position === 1 ? '收到，当前步骤完成后马上处理。' : `收到，已排队（前面还有 ${p.position} 条）。`),
  thinking: () => '处理中…',
  generating: () => '正在生成视频，通常需要几分钟，我会随时告诉你进度。',
  editing: () => '正在编辑时间线…',
  doneTurn: () => '完成。',
  turnStopped: () => '已停止。',
  doneGenerated: () => '完成：视频已生成。',
  recoveryFailedShort: () => '无法确认结果。',
  stillWorking: (p) => `仍在处理中…（已 ${p.minutes} 分钟）`,
  rawVideoReady: () => '原始视频已生成，正在进行后期（音乐、标题、特效）…',
  postProduction: (p) => `后期添加了这些轨道：\n${p.timeline}\n可以保留，也可以说“去掉音乐”或“去掉标题”。`,
  changed: (p) => `改动：\n${p.lines}`,
  noChange: () => '完成了，但时间线没有看到变化。换个说法描述一下修改？',
  nextSteps: () => '接下来：说“导出”获取 MP4，说“状态”查看时间线，或继续描述修改。',
  exportHint: () => '需要 MP4 时说“导出”。',
  incomplete: (p) => `${p.text}\n（不完整：连接中断）`,
  recovering: () => '与视频服务的连接中断了，正在确认你的请求是否已完成…',
  restarting: () => '我正在重启。你的请求仍在处理，回来后我会告诉你结果。',
  resumed: () => '我回来了，正在确认你上一个请求的结果…',
  restartingTryAgain: () => '我正在重启，请一分钟后再发一次。',
  recovered: (p) => `请求已完成。改动：\n${p.lines}`,
  recoveryFailed: () => '无法确认请求是否完成，没有重复扣费。如需重试，请再发送一次。',
  modelRefused: () => '视频助手拒绝了这个请求，请换个说法。',
  modelTrouble: () => '视频助手遇到临时问题，提前停止了。请稍后再试。',
  answerCutShort: () => '（回答被截断了。）',
  turnProblem: () => '已停止：视频助手遇到问题。',
  agentFailedRecovering: () => '视频助手遇到问题，正在确认你的请求是否已完成…',
  incompleteStopped: (p) => `${p.text}\n（不完整：回答在此中断）`,
  serviceError: () => '视频服务处理请求时出错，请稍后再试。',
  networkError: () => '暂时连不上视频服务，请一分钟后再试。',
  noFreeAccounts: () => 'NemoVideo 目前不再为这个机器人发放免费账号。机器人管理员可以解决；你也可以在私聊中用 /login 登录自己的 NemoVideo 令牌。',
  rateLimited: () => '视频服务繁忙，请一分钟后再试。',
  noCredits: (p) => `积分用完了。注册即可获得更多：${p.link}`,
  noCreditsRegistered: () => '积分用完了。请到 nemovideo.com 充值后继续。',
  noCreditsPublic: () => '积分用完了，注册即可获得更多。',
  linkSentPrivately: () => '我已通过私信把链接发给你。',
  unsupportedFile: (p) => `无法使用“${p.name}”：不支持该文件类型。支持：${p.formats}，以及文档（txt、md、docx、pdf）。`,
  fileTooLarge: (p) => `“${p.name}”太大了（上限 ${p.maxMb} MB），请压缩或裁剪后再试。`,
  fileNotFetched: (p) => `无法从聊天平台获取“${p.name}”，请连同你的说明再发送一次。`,
  documentUnreadable: (p) => `无法读取“${p.name}”中的文字，文件是否有效？`,
  voiceNoteUnconvertible: (p) => `无法转换语音消息“${p.name}”，请改用以下格式发送音频：${p.formats}。`,
  convertingVoiceNote: (p) => `正在转换语音消息 ${p.name}…`,
  documentTruncated: (p) => `“${p.name}”较长，我使用了前 ${p.chars} 个字符。`,
  documentPagesRead: (p) => `“${p.name}”页数很多，我使用了前 ${p.pages} 页。`,
  documentLeftOut: (p) => `“${p.name}”和其他内容放在一条消息里太长了，已略去。请单独发送它。`,
  documentTooComplex: (p) => `这个文档太大或太复杂，无法读取：“${p.name}”。请换一个更短或更简单的文件，或直接粘贴文字。`,
  documentsBusy: (p) => `我正在读取很多文档，请一分钟后再发送“${p.name}”。`,
  uploading: (p) => `正在上传 ${p.name}…`,
  uploaded: (p) => `已上传：${p.names}。告诉我要怎么用。`,
  uploadedWithWords: (p) => `已上传：${p.names}。`,
  uploadUsage: () => '请发送文件，或输入 /upload 加视频、图片、音频的链接。',
  credits: (p) =>
    `积分：可用 ${p.available}` + (p.frozen > 0 ? `，进行中的任务占用 ${p.frozen}` : '') + `（共 ${p.total}）。\n生成一个片段约 100 积分，编辑约 50，导出免费。`,
  nothingToExport: () => '还没有可导出的内容。先描述一个视频，我来生成。',
  renderQueued: () => '正在渲染…进度会随时告诉你。',
  renderProgress: (p) => `渲染中… ${p.percent} %`,
  renderDownloading: () => '渲染完成，正在发送视频…',
  clipPreview: () => '生成的原始片段（导出后得到成片）：',
  videoFitting: (p) => `正在为 ${p.platform} 调整视频大小… ${p.percent} %`,
  videoFitted: (p) =>
    `视频已完成${p.version === undefined ? '' : `：v${p.version}`}，已压缩以便在这里播放。` +
    (p.version !== undefined && p.replies ? '回复这条消息即可修改它。' : '') +
    `原画质：${p.url}` +
    (p.link ? `\n项目：${p.link}` : ''),
  videoDescription: (p) => `${p.title}：${p.height}p 视频，${p.length}`,
  videoReady: (p) => `视频已完成。项目：${p.link}`,
  videoReadyNoLink: () => '视频已完成。',
  videoReadyVersion: (p) => `视频已完成：v${p.version}。${p.replies ? '回复这条消息即可修改它。' : ''}${p.link === '' ? '' : `项目：${p.link}`}`,
  videoAsLink: (p) => `视频已完成。文件太大无法在这里上传，下载链接：${p.url}` + (p.link ? `\n项目：${p.link}` : ''),
  videoAsLinkRefused: (p) => `视频已完成。文件无法在这里上传，下载链接：${p.url}` + (p.link ? `\n项目：${p.link}` : ''),
  videoInProject: (p) => `视频已完成，但文件无法在这里发送，请在项目中下载：${p.link}`,
  videoSentAsLink: () => '视频已完成：文件无法在这里上传，已改为发送链接。',
  renderFailed: (p) => `渲染失败（${p.reason}）。说“导出”可重试。`,
  // The service's own words cannot be translated: they are quoted as its answer.
  failureService: (p) => `NemoVideo：${p.text}`,
  failureStatus: (p) => `NemoVideo 返回 ${p.status}${p.code === '' ? '' : `（代码 ${p.code}）`}`,
  failureNoAnswer: () => 'NemoVideo 没有响应',
  failureInternal: () => '内部错误',
  failureUnknown: () => '原因未知',
  renderTimedOut: () => '渲染时间比平常长很多，我不再等待了。说“导出”可重试。',
  exportNeedsAccount: (p) => `导出需要注册 NemoVideo 账号（不是积分问题）。注册后再说“导出”：${p.link}`,
  projectLink: (p) => `在浏览器中打开项目：${p.link}`,
  exportNeedsAccountPublic: () => '导出需要注册 NemoVideo 账号（不是积分问题）。注册后再说“导出”。',
  videoInProjectPublic: () => '视频已完成，但文件无法在这里发送，你可以在项目中下载。',
  somethingWrong: () => '我这边出了点问题，请再试一次。',
  storageUnavailable: () => '我的存储（Redis）暂时没有响应，所以什么都没做。请一分钟后再试。',
  notAllowed: () => '抱歉，这是一个私有机器人。如需使用，请联系它的管理员。',
  quotaTurns: (p) => `你今天的 ${p.limit} 次请求已用完，${p.resetsIn}后重置。`,
  quotaRenders: (p) => `你今天的 ${p.limit} 次导出已用完，${p.resetsIn}后重置。`,
  quotaUploads: (p) => `你今天的 ${p.limit} 次上传已用完，这次没有上传。${p.resetsIn}后重置。`,
  queueFull: (p) => `你还有 ${p.waiting} 条消息在排队，我会逐一处理，请等回复。在此期间发送的新消息会被跳过。`,
  slowDown: (p) => `你发消息太快了（每分钟最多 ${p.limit} 条）。一分钟内的新消息我会忽略，请稍等。`,
  tooManyLinks: (p) => `这条消息里要上传的链接太多了：每条消息最多 ${p.max} 个，请分批发送。`,
  renderRunning: (p) => `这个项目正在渲染中（${p.status}）。完成后我会把视频发到这里，无需再次导出。`,
  renderStatusStarting: () => '准备中',
  renderStatusPercent: (p) => `${p.percent} %`,
  duration: (p) => (p.hours > 0 ? `${p.hours} 小时 ${p.minutes} 分钟` : `${p.minutes} 分钟`),
  loginPrivateOnly: () => '为了安全，请只在与我的私聊中发送 /login。如果你已在这里发了令牌，请到 nemovideo.com 作废它。',
  loginDeletedPrivateOnly: () => '为了安全，请只在与我的私聊中发送 /login。我已删除你的消息，令牌不会留在这里。',
  loginNotDeleted: () => '我无法删除你的消息（我在这里没有删除消息的权限），聊天中的所有人都能看到你的令牌。请到 nemovideo.com 作废它并生成新的令牌，然后在与我的私聊中用新令牌发送 /login。',
  loginDisabled: () => '此机器人未启用个人令牌（管理员未设置 TOKEN_ENCRYPTION_KEY）。',
  loginUsage: () => '请在私聊中发送 /login 加上你的 NemoVideo 令牌。',
  loginDone: () => '已使用你自己的 NemoVideo 账号登录，我已尽可能删除了你的消息。/logout 可清除令牌。',
  loginInvalid: () => 'NemoVideo 不接受这个令牌，请检查后重试。',
  logoutDone: () => '已清除你的令牌，新项目将再次使用机器人的账号。',
  adminOnly: () => '只有机器人的管理员可以使用这个命令。',
  stats: (p) => `用户：${p.users}\n今日请求：${p.turns}\n今日导出：${p.renders}\n渲染中：${p.inFlight}\n积分：${p.credits}`,
  buttonExport: () => '导出',
  buttonStatus: () => '状态',
  buttonCredits: () => '积分',
  buttonNew: () => '新项目',
  buttonProjects: () => '项目',
};

export type MessageKey = keyof Catalog;

/** The sentence `key` in `lang`. */
export const t = defineCatalog({ en, zh });

const CJK = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;

/**
 * The user's language: Chinese when the message is written in Chinese or the platform
 * says so, English otherwise.
 */
export function detectLanguage(platformLanguage: string | undefined, text: string): Language {
  // A message written in Chinese is answered in Chinese whatever the client's setting.
  if (CJK.test(text)) return 'zh';
  if (platformLanguage && /^zh/i.test(platformLanguage)) return 'zh';
  return 'en';
}
