import type { Conversation } from './conversation.js';
import type { DailyQuota, QuotaKind } from './daily-quota.js';
import type { EngineSettings } from './engine-deps.js';
import type { FloodControl } from './flood-control.js';
import { t } from './i18n.js';
import type { SessionStore } from './session-store.js';
import type { EnterRefusal } from './turn-gate.js';

/** Whether a message may go on: flood control, daily quotas and the link cap, each refusal told in words. */
export interface AdmissionDeps {
  flood: Pick<FloodControl, 'take' | 'rateCheck'>;
  sessions: Pick<SessionStore, 'read'>;
  quota: DailyQuota;
  settings: Pick<
    EngineSettings,
    'maxQueuedTurns' | 'userMessagesPerMinute' | 'maxLinksPerMessage' | 'userDailyTurns' | 'userDailyRenders' | 'userDailyUploads'
  >;
}

/**
 * Counts the message against its sender's rate: false when over it (the first time this window
 * with a notice, then silently). `readsProject`: the session and identity reads start now too.
 */
export async function admitted(deps: AdmissionDeps, conv: Conversation, readsProject: boolean): Promise<boolean> {
  const verdict = deps.flood.take(conv.key.platform, conv.key.userId);
  if (readsProject) {
    conv.cred.warm();
    const prefetched = deps.sessions.read(conv.key);
    prefetched.catch(() => undefined);
    conv.prefetched = prefetched;
  }
  const result = await verdict;
  if (result !== 'ok') await tellRefused(deps, conv, { reason: 'rate_limited', notify: result === 'tripped' });
  return result === 'ok';
}

/** One notice when a flood limit trips; later refusals of the same kind are silent. */
export async function tellRefused(deps: AdmissionDeps, conv: Conversation, refusal: EnterRefusal): Promise<void> {
  if (!refusal.notify) {
    conv.log.debug({ reason: refusal.reason }, 'message refused by flood control');
    return;
  }
  conv.log.warn({ reason: refusal.reason }, 'flood control tripped: refusing this person\'s messages for now');
  const { maxQueuedTurns, userMessagesPerMinute } = deps.settings;
  await conv.reply.send(
    refusal.reason === 'queue_full'
      ? t(conv.lang, 'queueFull', { waiting: maxQueuedTurns })
      : t(conv.lang, 'slowDown', { limit: userMessagesPerMinute }),
  );
}

/** False, after saying so, when a message asks to upload more links than one message may. */
export async function linksWithinCap(deps: AdmissionDeps, conv: Conversation, links: readonly string[]): Promise<boolean> {
  const max = deps.settings.maxLinksPerMessage;
  if (links.length <= max) return true;
  await conv.reply.send(t(conv.lang, 'tooManyLinks', { max }));
  return false;
}

/** Daily limits apply only to people on the operator's shared token, and only those that are set. */
export async function quotaApplies(deps: AdmissionDeps, conv: Conversation, kind: QuotaKind): Promise<boolean> {
  return deps.quota.limited(kind) && (await conv.cred.isShared());
}

/** Counts `amount` against today's `kind`: `free` when no limit applies, `refused` (said so) when over it. */
export async function takeQuota(deps: AdmissionDeps, conv: Conversation, kind: QuotaKind, amount = 1): Promise<'free' | 'charged' | 'refused'> {
  if (!(await quotaApplies(deps, conv, kind))) return 'free';
  const result = await deps.quota.take(kind, conv.key.platform, conv.key.userId, Date.now(), amount);
  if (result.ok) return 'charged';
  const minutesLeft = Math.ceil(result.resetsInMs / 60_000);
  const resetsIn = t(conv.lang, 'duration', { hours: Math.floor(minutesLeft / 60), minutes: minutesLeft % 60 });
  const { userDailyTurns, userDailyRenders, userDailyUploads } = deps.settings;
  const text = {
    turns: () => t(conv.lang, 'quotaTurns', { limit: userDailyTurns ?? 0, resetsIn }),
    renders: () => t(conv.lang, 'quotaRenders', { limit: userDailyRenders ?? 0, resetsIn }),
    uploads: () => t(conv.lang, 'quotaUploads', { limit: userDailyUploads ?? 0, resetsIn }),
  }[kind];
  await conv.reply.send(text());
  return 'refused';
}
