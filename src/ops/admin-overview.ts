import type { Job } from 'bullmq';
import type { UsageStats } from '../core/usage-stats.js';
import { scrubSecrets } from '../log.js';
import type { Credits } from '../nemo/types.js';
import { RenderJobDataSchema, type RenderJobData } from '../render/job-data.js';
import type { RenderQueue } from '../render/render-queue.js';
import type { NemoErrorCounts } from './nemo-error-counts.js';
import { withTimeout } from './with-timeout.js';

export interface OverviewSources {
  renders: RenderQueue;
  usage: UsageStats;
  nemoErrors: NemoErrorCounts;
  /** The operator token's balance; absent without `NEMO_TOKEN`. */
  credits?: () => Promise<Credits>;
  /** Each figure waits this long, then shows as unavailable; default 3000 ms. */
  timeoutMs?: number;
  now?: () => number;
}

/** One render as the operator sees it. */
export interface RenderRow {
  id: string;
  state: string;
  phase?: string;
  percent?: number;
  attempts: number;
  /** `platform:chatId`. */
  chat: string;
  user: string;
  error?: string;
  queuedAt: number;
}

export interface Overview {
  at: number;
  people?: number;
  turns?: number;
  exports?: number;
  /** BullMQ's job counts by state. */
  queue?: Record<string, number>;
  /** Renders being worked on (active, or waiting for their next poll), then those queued. */
  renders?: RenderRow[];
  failed?: RenderRow[];
  /** What `?q=` found: a render id, or renders of a chat or person among those listed. */
  search?: { query: string; rows: RenderRow[] };
  nemoErrors?: Array<{ code: string; count: number }>;
  credits?: Credits | 'no-operator-token';
}

// Jobs listed per state: enough to find a person's render, bounded whatever the queue holds.
const LISTED = 50;
const STATES_IN_FLIGHT = ['active', 'delayed', 'waiting', 'prioritized'] as const;

/**
 * Everything the overview page shows, each part read on its own: a part that fails or is slow
 * (Redis busy, NemoVideo away) is left out and the page says so, the rest still shows.
 */
export async function readOverview(sources: OverviewSources, query?: string): Promise<Overview> {
  const now = (sources.now ?? Date.now)();
  const timeoutMs = sources.timeoutMs ?? 3000;
  const part = <T>(work: () => Promise<T>, what: string): Promise<T | undefined> =>
    withTimeout(Promise.resolve().then(work), timeoutMs, what).catch(() => undefined);
  const queue = sources.renders.queue;

  const [people, turns, exports, counts, inFlight, failed, errors, credits] = await Promise.all([
    part(() => sources.usage.peopleToday(now), 'people today'),
    part(() => sources.usage.today('turns', now), 'turns today'),
    part(() => sources.usage.today('renders', now), 'exports today'),
    part(() => sources.renders.counts(), 'queue counts'),
    part(async () => (await Promise.all(STATES_IN_FLIGHT.map(async (state) => rows(await queue.getJobs([state], 0, LISTED - 1), state)))).flat(), 'renders'),
    part(async () => rows(await queue.getJobs(['failed'], 0, LISTED - 1), 'failed'), 'failed renders'),
    part(() => sources.nemoErrors.lastHour(), 'nemo errors'),
    sources.credits === undefined ? Promise.resolve('no-operator-token' as const) : part(sources.credits, 'credits'),
  ]);

  const trimmed = query?.trim().slice(0, 200);
  const search = trimmed ? await part(() => find(sources.renders, trimmed, [...(inFlight ?? []), ...(failed ?? [])]), 'search') : undefined;
  return {
    at: now,
    ...(people === undefined ? {} : { people }),
    ...(turns === undefined ? {} : { turns }),
    ...(exports === undefined ? {} : { exports }),
    ...(counts === undefined ? {} : { queue: counts }),
    ...(inFlight === undefined ? {} : { renders: inFlight }),
    ...(failed === undefined ? {} : { failed }),
    ...(trimmed && search !== undefined ? { search: { query: trimmed, rows: search } } : {}),
    ...(errors === undefined ? {} : { nemoErrors: [...errors].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count) }),
    ...(credits === undefined ? {} : { credits }),
  };
}

/** A render id is looked up whatever its state; anything else matches the chat or person of the listed renders. */
async function find(renders: RenderQueue, query: string, listed: RenderRow[]): Promise<RenderRow[]> {
  if (/^render_[A-Za-z0-9_-]+$/.test(query)) {
    const job = await renders.queue.getJob(query);
    if (job === undefined) return [];
    return rows([job], await job.getState());
  }
  return listed.filter((row) => row.chat === query || row.chat.endsWith(`:${query}`) || row.user === query);
}

function rows(jobs: ReadonlyArray<Job<RenderJobData> | undefined>, state: string): RenderRow[] {
  return jobs.filter((job): job is Job<RenderJobData> => job !== undefined && job.id !== undefined).map((job) => row(job, state));
}

function row(job: Job<RenderJobData>, state: string): RenderRow {
  const parsed = RenderJobDataSchema.safeParse(job.data);
  const data = parsed.success ? parsed.data : undefined;
  // BullMQ's progress is 0 until set: only a percent a poll reported is shown.
  const percent = data?.lastPercent ?? (typeof job.progress === 'number' && job.progress > 0 ? job.progress : undefined);
  return {
    id: String(job.id),
    state,
    ...(data === undefined ? {} : { phase: data.phase }),
    ...(percent === undefined ? {} : { percent }),
    attempts: job.attemptsMade,
    chat: data === undefined ? '?' : `${data.address.platform}:${data.address.chatId}`,
    user: data === undefined ? '?' : `${data.address.platform}:${data.address.userId}`,
    ...(job.failedReason ? { error: scrubSecrets(job.failedReason).slice(0, 300) } : {}),
    queuedAt: job.timestamp,
  };
}
