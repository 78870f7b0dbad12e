import { setTimeout as delay } from 'node:timers/promises';
import { describeError } from '../lib/describe-error.js';
import type { Conversation } from './conversation.js';
import type { EngineApi, EngineSettings, TurnMetrics } from './engine-deps.js';
import { t } from './i18n.js';
import { titleFromPrompt } from './project-list.js';
import type { ProjectService } from './project-service.js';
import { projectRefOf, type SessionKey, type SessionRecord, type SessionStore } from './session-store.js';
import type { EnterRefusal, PendingTurn, TurnGate } from './turn-gate.js';
import type { TurnJournal } from './turn-journal.js';
import { recoverFromState, runChatTurn } from './turn-runner.js';
import type { ChatAddress, Language } from './types.js';
import type { RateCheck } from './flood-control.js';
import type { UsageStats } from './usage-stats.js';

export interface TurnSchedulerDeps {
  api: EngineApi;
  sessions: SessionStore;
  gate: TurnGate;
  journal: TurnJournal;
  usage: Pick<UsageStats, 'count'>;
  projects: Pick<ProjectService, 'withProject' | 'switchTo'>;
  settings: EngineSettings;
  sleep: (ms: number) => Promise<void>;
  metrics?: TurnMetrics | undefined;
  /** A conversation for a turn taken up later (queued, recovered); undefined when its platform has no outbox. */
  conversation(address: ChatAddress, language: Language): Conversation | undefined;
  /** Tells the person what went wrong. */
  replyError(conv: Conversation, error: unknown): Promise<void>;
}

/** A finished turn's closing writes, sent and not awaited yet (see `TurnScheduler.drain`). */
interface TurnEnd {
  written: Promise<void> | undefined;
}

/**
 * One turn at a time per session: the turn lock held and renewed while the session's queue is
 * drained, each turn journaled so a crash is recovered from the project state, and the stop
 * that lets running turns finish (or leaves them journaled) on shutdown.
 */
export class TurnScheduler {
  private readonly drains = new Set<Promise<void>>();
  private readonly controllers = new Set<AbortController>();
  private stopping = false;

  constructor(private readonly deps: TurnSchedulerDeps) {}

  /** True once `stop` was called: new work is refused. */
  get stopped(): boolean {
    return this.stopping;
  }

  /**
   * Runs `turn` now, or queues it behind the session's running turn (saying so). `rate`: the
   * sender's rate check, counted inside ENTER. Returns the refusal when ENTER refused the turn.
   */
  async submit(conv: Conversation, turn: PendingTurn, rate: RateCheck | undefined): Promise<EnterRefusal | undefined> {
    const entering = this.deps.gate.enter(conv.key, turn, { inboxId: conv.inboxId, rate });
    // Sent right behind ENTER on the same connection, so Redis runs it after: once the lock is
    // ours, no turn can write the record any more, and this read is the newest, one round trip saved.
    const prefetched = this.deps.sessions.read(conv.key);
    prefetched.catch(() => undefined);
    // The turn needs the person's token: its read travels in the same round trip.
    conv.cred.warm();
    const entry = await entering;
    if (entry.acquired) conv.prefetched = prefetched;
    else if ('refused' in entry) {
      return entry.refused;
    } else {
      await conv.reply.send(t(conv.lang, 'queued', { position: entry.position }));
      return undefined;
    }
    await this.drain(conv, entry.lockToken, () => this.runTurn(conv, turn));
    return undefined;
  }

  /**
   * Finds turns that a restart or a crash cut off and reports their outcome from the project
   * state, and runs turns left waiting behind a dead holder. Each is claimed with its session's
   * lock in one Redis step that finds the turn still journaled (or queued) and the lock free, so
   * of several replicas only one picks it up, never while a live turn holds the session, and a
   * turn that ends while the sweep looks is never taken for interrupted. `upTo`: what is due by
   * then (default now; `Infinity` at start). Returns how many sessions it took up.
   */
  async recoverInterrupted(upTo?: number): Promise<number> {
    const recoveries: Promise<void>[] = [];
    for (const { turn, lockToken } of await this.deps.journal.claimInterrupted(upTo)) {
      const conv = this.deps.conversation(turn.address, turn.language);
      if (!conv) {
        await this.deps.gate.release(turn.key, lockToken);
        continue;
      }
      // The recovery's messages belong to the turn's project: a reply to them continues it.
      conv.projectRef = projectRefOf(turn);
      recoveries.push(
        this.drain(conv, lockToken, async () => {
          try {
            await conv.reply.progress(t(conv.lang, 'resumed'));
            const result = await recoverFromState(this.turnDeps(conv), { cred: conv.cred, sessionId: turn.sessionId, reply: conv.reply }, turn.draftBefore);
            await this.deps.journal.end(turn.key);
            const record = await this.deps.sessions.read(turn.key);
            if (record?.sessionId === turn.sessionId) {
              await this.deps.sessions.write(turn.key, { ...record, lastDraft: result.draftAfter, updatedAt: Date.now() });
            }
            conv.log.info({ outcome: result.outcome }, 'interrupted turn recovered');
          } catch (error) {
            conv.log.error({ err: describeError(error) }, 'recovery of an interrupted turn failed');
            await this.deps.replyError(conv, error);
          } finally {
            conv.reply.finish();
          }
        }),
      );
    }
    // Turns queued behind a holder that died before journaling anything: run them now.
    for (const turn of await this.deps.gate.claimWaiting(upTo)) {
      const key: SessionKey = { platform: turn.address.platform, chatId: turn.address.chatId, userId: turn.address.userId };
      const conv = this.deps.conversation(turn.address, turn.language);
      if (!conv) {
        await this.deps.gate.release(key, turn.lockToken);
        continue;
      }
      recoveries.push(this.drain(conv, turn.lockToken, () => Promise.resolve(undefined)));
    }
    await Promise.all(recoveries);
    return recoveries.length;
  }

  /**
   * Stops taking work: running turns get until `deadlineMs` to finish, then their streams are
   * closed and they stay journaled for the next process to recover.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    if (this.drains.size === 0) return;
    const deadline = new AbortController();
    const settled = Promise.allSettled([...this.drains]).then(() => true);
    const expired = delay(deadlineMs, false, { signal: deadline.signal }).catch(() => false);
    const finished = await Promise.race([settled, expired]);
    // The timer must not keep a stopped process alive.
    deadline.abort();
    if (finished) return;
    for (const controller of this.controllers) controller.abort();
    await Promise.allSettled([...this.drains]);
  }

  /**
   * The next queued turn, asked for right behind a finished turn's closing writes (sent, not yet
   * answered): Redis runs them in order on the one connection, in one round trip.
   */
  private async nextAfter<T>(next: Promise<T>, written: Promise<void> | undefined): Promise<T> {
    const [following] = await Promise.all([next, written]);
    return following;
  }

  /**
   * Runs `first`, then every turn that queued behind it, holding the session's lock. A turn
   * returns its closing writes unawaited, so that the queue's next read goes with them.
   */
  private drain(owner: Conversation, lockToken: string, first: () => Promise<TurnEnd | void>): Promise<void> {
    const { gate } = this.deps;
    const lock = gate.lock(owner.key, lockToken);
    const run = async () => {
      let released = false;
      const renewing = lock.keepRenewed({
        minEveryMs: 50,
        onError: (error) => owner.log.warn({ err: describeError(error) }, 'turn lock extend failed'),
      });
      try {
        // Wrapped: a promise returned from an async function would be awaited with it.
        let written = (await first())?.written;
        // While stopping, queued turns stay in Redis for the next process.
        let turn = this.stopping ? undefined : await this.nextAfter(gate.next(owner.key, lockToken), written);
        released = turn === undefined && !this.stopping;
        while (turn) {
          const conv = this.deps.conversation(turn.address, turn.language);
          written = conv ? (await this.runTurn(conv, turn, turn.entry)).written : undefined;
          const following = await this.nextAfter(gate.next(owner.key, lockToken, turn.entry), written);
          released = following === undefined;
          turn = this.stopping ? undefined : following;
        }
      } finally {
        renewing.stop();
        // `next` found nothing and let the lock go; on any other exit (a stop, an error) it goes
        // now, so the next process can recover this session without waiting for its TTL.
        if (!released) await lock.release().catch(() => undefined);
      }
    };
    const drained = run();
    this.drains.add(drained);
    return drained.finally(() => this.drains.delete(drained));
  }

  /**
   * `queueEntry`: the turn waited in the session's queue, and leaves it when journaled. Returns
   * the turn's closing writes (journal end, count, session record) sent but not awaited; they
   * never reject (a failure is logged: the journal entry left is recovered from the state).
   */
  private async runTurn(conv: Conversation, turn: PendingTurn, queueEntry?: string): Promise<TurnEnd> {
    const controller = new AbortController();
    this.controllers.add(controller);
    let written: Promise<void> | undefined;
    try {
      // A turn that waited runs in the project it was sent to, even if another became current meanwhile.
      if (queueEntry !== undefined && turn.projectRef !== undefined) await this.deps.projects.switchTo(conv, turn.projectRef);
      await this.deps.projects.withProject(conv, async (record) => {
        const before = record.lastDraft ?? (await this.readDraft(conv, record.sessionId));
        // Named by its first prompt, sent with the journal entry (one round trip).
        const naming = this.nameProject(conv, record, turn.text);
        // Journaled first: a restart in the middle is recovered from the state, not re-sent.
        await this.deps.journal.begin(
          {
            key: conv.key,
            address: conv.reply.address,
            language: conv.lang,
            sessionId: record.sessionId,
            draftBefore: before,
            startedAt: Date.now(),
          },
          { inboxId: conv.inboxId, queueEntry },
        );
        await naming;
        const started = Date.now();
        const result = await runChatTurn(this.turnDeps(conv), {
          cred: conv.cred,
          sessionId: record.sessionId,
          text: turn.text,
          reply: conv.reply,
          draftBefore: before,
          signal: controller.signal,
        });
        conv.log.info({ outcome: result.outcome }, 'turn finished');
        this.deps.metrics?.turns.inc({ outcome: result.outcome });
        this.deps.metrics?.turnDuration.observe({ outcome: result.outcome }, (Date.now() - started) / 1000);
        if (result.outcome === 'interrupted') return;
        // One round trip with the queue's next read (see `drain`): the client sends them back to
        // back, Redis runs them in this order.
        written = Promise.all([
          this.deps.journal.end(conv.key),
          this.deps.usage.count('turns', Date.now(), `${conv.key.platform}:${conv.key.userId}`),
          this.deps.sessions.write(conv.key, { ...record, lastDraft: result.draftAfter, updatedAt: Date.now() }),
        ]).then(
          () => undefined,
          (error: unknown) => conv.log.error({ err: describeError(error) }, 'closing writes of an answered turn failed: its journal entry is recovered later'),
        );
      });
      return { written };
    } catch (error) {
      conv.log.error({ err: describeError(error) }, 'turn failed');
      this.deps.metrics?.turns.inc({ outcome: 'error' });
      await this.deps.journal.end(conv.key).catch(() => undefined);
      await conv.reply.endProgress(t(conv.lang, 'turnStopped')).catch(() => undefined);
      await this.deps.replyError(conv, error);
    } finally {
      this.controllers.delete(controller);
      conv.reply.finish();
    }
    return { written: undefined };
  }

  /** A project is named by its first prompt (`/projects` lists it by that); best effort. */
  private async nameProject(conv: Conversation, record: SessionRecord, prompt: string): Promise<void> {
    const title = titleFromPrompt(prompt);
    if (title === undefined) return;
    await this.deps.sessions.nameProject(conv.key, record, title).catch((error: unknown) => {
      conv.log.warn({ err: describeError(error) }, 'could not name the project');
    });
  }

  private turnDeps(conv: Conversation) {
    const metrics = this.deps.metrics;
    return {
      api: this.deps.api,
      settings: this.deps.settings,
      sleep: this.deps.sleep,
      logger: conv.log,
      ...(metrics ? { onStillWorking: () => metrics.keepAliveWaits.inc() } : {}),
    };
  }

  private async readDraft(conv: Conversation, sessionId: string): Promise<unknown> {
    try {
      return (await this.deps.api.state(conv.cred, sessionId)).draft;
    } catch (error) {
      conv.log.warn({ err: describeError(error) }, 'state read failed');
      return undefined;
    }
  }
}

