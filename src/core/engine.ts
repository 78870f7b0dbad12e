import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pLimit from 'p-limit';
import { describeError } from '../lib/describe-error.js';
import { admitted, takeQuota } from './admission.js';
import { login, logout, stats } from './account-commands.js';
import { chat, upload, type ChatCommandDeps } from './chat-commands.js';
import { ChatReply } from './chat-reply.js';
import type { Conversation } from './conversation.js';
import { AnonymousTokenRefusedError, credentialsFor } from './credentials.js';
import type { EngineDeps } from './engine-deps.js';
import { errorTextFor, replyError } from './error-reply.js';
import { detectLanguage, t } from './i18n.js';
import { credits, exportVideo, listProjects, newProject, start, status, switchProject, type ProjectCommandDeps } from './project-commands.js';
import { followReply } from './reply-continue.js';
import { ProjectService } from './project-service.js';
import { route, type Route, type RouteAction } from './router.js';
import type { SessionKey } from './session-store.js';
import { TurnScheduler } from './turn-scheduler.js';
import { TypingThrottle } from './typing-throttle.js';
import type { ArrivedOptions, ChatAddress, IncomingMessage, Language, MessageHandler } from './types.js';

/** Answers about the account, not a project: a reply to them has no project to continue (and no map write, issue 14). */
const ACCOUNT_ACTIONS: ReadonlySet<RouteAction> = new Set<RouteAction>(['credits', 'stats', 'login', 'logout', 'help']);

export type { EngineApi, EngineDeps, EngineSettings, RenderProgress, RenderRequest, TurnMetrics } from './engine-deps.js';

// Voice notes converted at once per process (ffmpeg runs one core each); the rest wait their turn.
const VOICE_CONVERSIONS_AT_ONCE = 2;

/** A route's handler (see `Engine.handlers`). */
interface ActionHandler {
  run(conv: Conversation, message: IncomingMessage, routed: Route): Promise<void>;
  readsProject?: boolean;
}

/**
 * The conversation engine: checks access, routes each message through the command table to its
 * handler (`project-commands.ts`, `chat-commands.ts`, `account-commands.ts`), and tells the
 * person when one fails. Projects live in `ProjectService`, turns in `TurnScheduler`.
 */
export class Engine implements MessageHandler {
  private readonly projects: ProjectService;
  private readonly scheduler: TurnScheduler;
  private readonly commands: ProjectCommandDeps & ChatCommandDeps;
  /** One typing indicator per chat every few seconds, however fast messages come. */
  private readonly typing = new TypingThrottle();

  constructor(private readonly deps: EngineDeps) {
    const sleep = deps.sleep ?? ((ms: number) => delay(ms));
    const replyTo = (conv: Conversation, error: unknown) => replyError(conv, error, deps.settings.webUrl);
    this.projects = new ProjectService({ ...deps, webUrl: deps.settings.webUrl, sleep });
    this.scheduler = new TurnScheduler({
      ...deps,
      sleep,
      projects: this.projects,
      conversation: (address, language) => this.conversation(address, language),
      replyError: replyTo,
    });
    const commands: ProjectCommandDeps & ChatCommandDeps = {
      ...deps,
      projects: this.projects,
      scheduler: this.scheduler,
      uploads: {
        api: deps.api,
        documentMaxChars: deps.settings.documentMaxChars,
        maxRelayChars: deps.settings.maxMessageChars,
        documents: deps.documents,
        voiceSlots: pLimit(VOICE_CONVERSIONS_AT_ONCE),
        withProject: (conv, work) => this.projects.withProject(conv, work),
        errorText: (conv, error, fileName) => errorTextFor(conv, error, deps.settings.webUrl, fileName),
        allowUploads: async (conv, count) => (await takeQuota(commands, conv, 'uploads', count)) !== 'refused',
      },
    };
    this.commands = commands;
  }

  async handle(message: IncomingMessage): Promise<void> {
    if (!message.addressed) return;
    const conv = this.conversation(message.address, detectLanguage(message.platformLanguage, message.text));
    if (!conv) return;
    conv.inboxId = message.inboxId;
    try {
      if (this.scheduler.stopped) {
        await conv.reply.send(t(conv.lang, 'restartingTryAgain'));
        return;
      }
      const verdict = await this.deps.access.check(message.address);
      if (verdict !== 'allowed') {
        if (verdict === 'refuse') await conv.reply.send(t(conv.lang, 'notAllowed'));
        return;
      }
      // Seen at once: a quick answer is then the only post, a slow one gets its progress message later.
      // Usually `arrived` showed it already (the throttle then says no); albums, presses and swept messages come here first.
      if (this.typing.due(typingKey(message.address))) conv.reply.typing();
      if (!(await followReply({ messages: this.deps.messages, projects: this.projects }, conv, message))) return;
      await this.dispatch(conv, message);
    } catch (error) {
      if (error instanceof AnonymousTokenRefusedError) {
        conv.log.error({ err: describeError(error) }, 'NemoVideo refused a new anonymous token: set NEMO_TOKEN (an operator token) for this bot');
      } else {
        conv.log.error({ err: describeError(error) }, 'message failed');
      }
      await replyError(conv, error, this.deps.settings.webUrl);
    } finally {
      conv.reply.finish();
    }
    // The inbox entry is released by the intake that handed the message over (core/intake.ts).
  }

  /**
   * "typing…" the moment an adapter receives a message it will hand over, before its Redis steps
   * (issue 14's first visible sign). Best effort and throttled like `handle`'s; nothing for a
   * person the allow-lists keep out (a local check) or while stopping.
   */
  arrived(address: ChatAddress, options?: ArrivedOptions): void {
    try {
      if (options?.signed === true) {
        this.typing.due(typingKey(address));
        return;
      }
      const outbox = this.deps.outboxes[address.platform];
      if (!outbox?.showTyping || this.scheduler.stopped || !this.deps.access.permits(address)) return;
      if (!this.typing.due(typingKey(address))) return;
      outbox.showTyping(address).catch((error: unknown) => {
        this.deps.logger.warn({ err: describeError(error), platform: address.platform }, 'typing indicator failed');
      });
    } catch (error) {
      // A sign only: whatever went wrong here, the message goes on as if it had not been tried.
      this.deps.logger.warn({ err: describeError(error), platform: address.platform }, 'typing indicator failed');
    }
  }

  /**
   * Turns a restart or a crash cut off, and turns left waiting: see `TurnScheduler.recoverInterrupted`.
   * `upTo`: only what is due by then (the periodic sweep passes now); default everything indexed (at start).
   */
  recoverInterrupted(upTo = Infinity): Promise<number> {
    return this.scheduler.recoverInterrupted(upTo);
  }

  /** Stops taking work; running turns get until `deadlineMs` (see `TurnScheduler.stop`). */
  stop(deadlineMs: number): Promise<void> {
    return this.scheduler.stop(deadlineMs);
  }

  private conversation(address: ChatAddress, lang: Language, correlationId: string = randomUUID()): Conversation | undefined {
    const outbox = this.deps.outboxes[address.platform];
    if (!outbox) {
      this.deps.logger.error({ platform: address.platform }, 'no outbox for platform');
      return undefined;
    }
    const key: SessionKey = { platform: address.platform, chatId: address.chatId, userId: address.userId };
    const cred = credentialsFor(
      { nemo: this.deps.api, sessions: this.deps.sessions, operatorToken: this.deps.settings.operatorToken, cipher: this.deps.cipher },
      address.platform,
      address.userId,
    );
    const log = this.deps.logger.child({ correlationId, platform: address.platform });
    const where = { platform: address.platform, chatId: address.chatId };
    const mapped: { conv?: Conversation } = {};
    // Every message posted for a known project is mapped to it once the platform confirmed it: a reply to it continues that project.
    const reply = new ChatReply(outbox, { ...address, progressMessageId: undefined }, lang, log, this.deps.settings.progressDelayMs, async (messageId) => {
      if (mapped.conv?.accountOnly === true) return;
      const projectRef = mapped.conv?.projectRef;
      const target = outbox.replyTarget?.(messageId) ?? messageId;
      if (projectRef !== undefined && target !== '') await this.deps.messages.remember(where, target, { userId: address.userId, projectRef });
    });
    const conv: Conversation = { key, lang, reply, cred, log };
    mapped.conv = conv;
    return conv;
  }

  private async dispatch(conv: Conversation, message: IncomingMessage): Promise<void> {
    const { lang, reply } = conv;
    const tooLong = message.text.length > this.deps.settings.maxMessageChars;
    const routed = tooLong ? undefined : route(message.text, message.attachments.length > 0);
    conv.accountOnly = routed !== undefined && ACCOUNT_ACTIONS.has(routed.action);
    // Flood control before any work: a chat turn is counted inside its ENTER script (no round trip
    // of its own); every other message here, with the project reads it will need alongside.
    const readsProject = routed !== undefined && this.handlers[routed.action].readsProject === true;
    if (routed?.action !== 'chat' && !(await admitted(this.commands, conv, readsProject))) return;
    if (!routed) {
      await reply.send(t(lang, 'tooLong', { max: this.deps.settings.maxMessageChars }));
      return;
    }
    await this.handlers[routed.action].run(conv, message, routed);
  }

  /**
   * What each route does: a key for every action of the command table (the compiler asks for a
   * new command's), and for the message kinds. `readsProject`: its project reads travel with the
   * rate check, in one round trip.
   */
  private readonly handlers: Readonly<Record<RouteAction, ActionHandler>> = {
    empty: { run: async ({ lang, reply }) => void (await reply.send(t(lang, 'emptyMessage'))) },
    unknown_command: {
      run: async ({ lang, reply }, _message, routed) => void (await reply.send(t(lang, 'unknownCommand', { command: `/${routed.command ?? routed.text}` }))),
    },
    help: { run: async ({ lang, reply }) => void (await reply.send(t(lang, 'help'))) },
    start: { readsProject: true, run: (conv) => start(this.commands, conv) },
    new: { run: (conv) => newProject(this.commands, conv) },
    projects: { run: (conv) => listProjects(this.commands, conv) },
    switch: { run: (conv, _message, routed) => switchProject(this.commands, conv, routed.text) },
    credits: { readsProject: true, run: (conv) => credits(this.commands, conv) },
    status: { readsProject: true, run: (conv) => status(this.commands, conv) },
    export: { readsProject: true, run: (conv) => exportVideo(this.commands, conv) },
    upload: { readsProject: true, run: (conv, message, routed) => upload(this.commands, conv, message.attachments, routed.text) },
    login: { run: (conv, message, routed) => login(this.deps, conv, message, routed.text) },
    logout: { run: (conv) => logout(this.deps, conv) },
    stats: { run: (conv, message) => stats(this.deps, conv, message.address) },
    chat: { run: (conv, _message, routed) => chat(this.commands, conv, routed.text, { uploadLinks: true, counted: false }) },
  };
}

/** The typing throttle's key: one indicator per chat (a forum's topics share it). */
function typingKey(address: ChatAddress): string {
  return `${address.platform}:${address.chatId}`;
}
