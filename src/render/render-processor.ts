import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';
import type { Logger } from 'pino';
import { errorAnswer } from '../core/error-reply.js';
import type { MessageProjects } from '../core/message-projects.js';
import type { SessionStore } from '../core/session-store.js';
import { t } from '../core/i18n.js';
import {
  FileTooLargeForPlatformError,
  OutboxClosedError,
  PlatformRateLimitedError,
  type Language,
  type Outbox,
  type Platform,
  type VideoFile,
} from '../core/types.js';
import { describeError } from '../lib/describe-error.js';
import { scrubSecrets } from '../log.js';
import { NemoApiError, NemoCode, classify, redactTokens } from '../nemo/errors.js';
import type { NemoCredentials, RenderStatus } from '../nemo/types.js';
import { deliverOnce } from './delivery.js';
import { RenderJobDataSchema, type RenderJobData } from './job-data.js';
import type { RenderApi } from './render-api.js';
import { draftTitle, videoDescription, videoFilename } from './video-naming.js';
import { prepareVideo, type PreparedVideo, type VideoPrepSettings } from './video-prep.js';

/** How a render job ended (the job's return value). */
export type RenderOutcome =
  | 'delivered'
  | 'delivered-as-link'
  | 'already-delivered'
  | 'failed'
  | 'timed-out'
  | 'needs-account'
  | 'no-credits';

/** The first progress line should come soon, not a whole poll interval after the submit. */
export const FIRST_POLL_MS = 5_000;

export interface RenderProcessorDeps {
  /** For the delivery markers. */
  redis: Redis;
  /** The key map of the delivery markers; default the `nvb` one. */
  keys?: RedisKeys;
  api: RenderApi;
  /** The user's NemoVideo credentials, looked up per run: job data never holds a token. */
  credentialsFor(job: RenderJobData): Promise<NemoCredentials>;
  outboxes: Partial<Record<Platform, Outbox>>;
  /** `NEMO_WEB_URL`, for the `?bind=` registration link. */
  webUrl: string;
  pollIntervalMs: number;
  /** The first poll after the submit: `FIRST_POLL_MS` by default, never later than `pollIntervalMs`. */
  firstPollMs?: number;
  maxPolls: number;
  /** Names this process in delivery leases. */
  workerId: string;
  /** A delivering worker's lease; a killed worker's delivery is retried after it. */
  deliveryLeaseMs: number;
  logger: Logger;
  /** ffmpeg work before the upload (fit, metadata, poster); absent: the file streams straight through. */
  video?: VideoPrepSettings;
  /** Maps the delivered video (and the link sent instead) to its project: a reply to it continues the project. */
  messages?: Pick<MessageProjects, 'remember'> | undefined;
  /** Where an export that never arrived gives its version number back ("v2" failed: the next is v2 again). */
  versions?: Pick<SessionStore, 'giveBackVersion'> | undefined;
}

// The outcomes that put a video (or its link) in the chat: every other one gives its number back.
const DELIVERED: ReadonlySet<RenderOutcome> = new Set(['delivered', 'delivered-as-link', 'already-delivered']);

const MAX_REASON_CHARS = 160;

/**
 * The render job's state machine over `data.phase`: submit → poll (re-scheduled with
 * `moveToDelayed`, never a sleep) → deliver. Every step saves the job's data before it moves
 * on, so a re-run in any process resumes where the last one stopped.
 */
export class RenderProcessor {
  constructor(private readonly deps: RenderProcessorDeps) {}

  async process(job: Job<RenderJobData>, token: string | undefined): Promise<RenderOutcome> {
    const parsed = RenderJobDataSchema.safeParse(job.data);
    if (!parsed.success) {
      this.deps.logger.error({ jobId: job.id }, 'render job data does not validate: dropping the job');
      throw new UnrecoverableError('invalid render job data');
    }
    const data = parsed.data;
    const log = this.deps.logger.child({ renderId: job.id, correlationId: data.correlationId });
    const outbox = this.deps.outboxes[data.address.platform];
    if (outbox === undefined) {
      log.error({ platform: data.address.platform }, 'no outbox for this platform in the worker: the render cannot reach its chat');
      throw new UnrecoverableError(`no outbox for platform ${data.address.platform}`);
    }
    const run = new RenderRun(this.deps, job, token, data, log, outbox);
    try {
      const outcome = await run.run();
      // Before BullMQ ends the job: until then a new export of this project is told one is running.
      if (!DELIVERED.has(outcome)) await run.giveBackVersion();
      return outcome;
    } catch (error) {
      if (error instanceof DelayedError || error instanceof UnrecoverableError) throw error;
      const attempts = job.opts.attempts ?? 1;
      const final = job.attemptsMade + 1 >= attempts;
      log.warn(
        { phase: run.data.phase, attempt: job.attemptsMade + 1, attempts, error: describeError(error) },
        final ? 'render step failed for the last time' : 'render step failed; BullMQ retries it with backoff',
      );
      if (final) {
        // A finished render is never reported as failed: its link goes out instead of the file.
        const instead = await run.linkInstead(error);
        if (instead !== undefined) return instead;
        await run.tellFailed(error);
        await run.giveBackVersion();
      }
      throw error;
    }
  }
}

/** One run of one job: the job, its data as saved so far, and where to talk. */
class RenderRun {
  private credentials: NemoCredentials | undefined;
  /** Set while a delivery runs: its map writes and private link wait for the delivered marker. */
  private afterMarker: Array<() => Promise<void>> | undefined;

  constructor(
    private readonly deps: RenderProcessorDeps,
    private readonly job: Job<RenderJobData>,
    private readonly token: string | undefined,
    public data: RenderJobData,
    private readonly log: Logger,
    private readonly outbox: Outbox,
  ) {}

  async run(): Promise<RenderOutcome> {
    switch (this.data.phase) {
      case 'submit':
        return this.submit();
      case 'poll':
        return this.poll();
      case 'deliver':
        return this.deliver();
    }
  }

  private async submit(): Promise<RenderOutcome> {
    const cred = await this.cred();
    for (;;) {
      try {
        await this.deps.api.submitRender(cred, {
          id: this.data.renderId,
          sessionId: this.data.sessionId,
          draft: this.data.draft,
        });
        break;
      } catch (error) {
        const refusal = await this.refusal(error);
        if (refusal !== undefined) return refusal;
        if (isConflict(error) && (await this.existsAlready(cred))) {
          // A re-run after a crash: our earlier submit of this id went through.
          this.log.info('render id already submitted by an earlier run: polling it');
          break;
        }
        if (!isSubmitRetryable(error)) throw error;
        if (this.data.submitAttempts >= 1) {
          this.log.warn({ error: describeError(error) }, 'render submit failed twice: giving up');
          await this.say(t(this.data.language, 'renderFailed', { reason: reasonOf(error, this.data.language) }));
          return 'failed';
        }
        // A reused id is refused with 409, so the one retry gets a fresh id.
        const renderId = `render_${randomUUID()}`;
        this.log.warn({ error: describeError(error), newRenderId: renderId }, 'render submit failed: retrying once with a new id');
        await this.save({ renderId, submitAttempts: this.data.submitAttempts + 1 });
      }
    }
    this.log.info({ nemoRenderId: this.data.renderId }, 'render submitted');
    const title = this.data.title ?? draftTitle(this.data.draft);
    await this.save({ phase: 'poll', draft: undefined, ...(title === undefined ? {} : { title }) });
    return this.delay(Math.min(this.deps.pollIntervalMs, this.deps.firstPollMs ?? FIRST_POLL_MS));
  }

  private async poll(): Promise<RenderOutcome> {
    const cred = await this.cred();
    let status: RenderStatus;
    try {
      status = await this.deps.api.renderStatus(cred, this.data.renderId);
    } catch (error) {
      const { action, retryAfterMs } = classify(error);
      if (action !== 'retry' && action !== 'wait_and_retry') throw error;
      this.log.warn({ error: describeError(error), polls: this.data.polls + 1 }, 'render poll got no usable answer: counted as a poll');
      return this.countPollAndWait(cred, retryAfterMs);
    }

    const patch: Partial<RenderJobData> = {};
    const percent = status.progress;
    if (percent !== undefined && percent !== this.data.lastPercent && status.status !== 'completed') {
      patch.lastPercent = percent;
      // Also as BullMQ's own progress, which the operator's board shows as a bar.
      await this.job.updateProgress(percent);
      const messageId = await this.showProgress(t(this.data.language, 'renderProgress', { percent }));
      if (messageId !== undefined) patch.address = { ...this.data.address, progressMessageId: messageId };
    }

    switch (status.status) {
      case 'completed': {
        this.log.info({ polls: this.data.polls + 1, sizeBytes: status.sizeBytes }, 'render completed');
        await this.save({ ...patch, phase: 'deliver', outputUrl: status.url, sizeBytes: status.sizeBytes });
        return this.deliver();
      }
      case 'failed': {
        this.log.warn({ error: status.error === undefined ? undefined : shorten(status.error) }, 'render failed');
        if (Object.keys(patch).length > 0) await this.save(patch);
        const { language } = this.data;
        const reason = status.error === undefined ? t(language, 'failureUnknown') : t(language, 'failureService', { text: shorten(status.error) });
        await this.say(t(language, 'renderFailed', { reason }));
        return 'failed';
      }
      default:
        if (Object.keys(patch).length > 0) this.data = { ...this.data, ...patch };
        return this.countPollAndWait(cred);
    }
  }

  private async countPollAndWait(cred: NemoCredentials, retryAfterMs?: number): Promise<RenderOutcome> {
    const polls = this.data.polls + 1;
    if (polls >= this.deps.maxPolls) {
      this.log.warn({ polls }, 'render still not done after the last poll: giving up');
      await this.deps.api.cancelRender(cred, this.data.renderId).catch((error: unknown) => {
        this.log.info({ error: describeError(error) }, 'render cancel failed (ignored)');
      });
      await this.save({ polls });
      await this.say(t(this.data.language, 'renderTimedOut'));
      return 'timed-out';
    }
    await this.save({ polls });
    return this.delay(Math.max(this.deps.pollIntervalMs, retryAfterMs ?? 0));
  }

  private async deliver(send?: () => Promise<RenderOutcome>): Promise<RenderOutcome> {
    const deliveryId = this.job.id ?? this.data.renderId;
    let outcome: RenderOutcome = 'delivered';
    this.afterMarker = [];
    const result = await deliverOnce(
      {
        redis: this.deps.redis,
        ...(this.deps.keys ? { keys: this.deps.keys } : {}),
        workerId: this.deps.workerId,
        leaseMs: this.deps.deliveryLeaseMs,
      },
      deliveryId,
      async () => {
        outcome = await (send ? send() : this.send(deliveryId));
      },
    );
    switch (result.kind) {
      case 'delivered':
        this.log.info({ outcome }, 'video delivered');
        // After the delivered mark, not inside the guarded send: a paced edit (or any Redis or
        // platform call) there widened the window in which a killed worker's lease lapsed and
        // another sent the video again.
        for (const task of this.takeAfterMarker()) await task();
        await this.editProgress(t(this.data.language, this.data.fileRefused ? 'videoSentAsLink' : 'videoReadyNoLink'));
        return outcome;
      case 'already-delivered':
        this.takeAfterMarker();
        this.log.info('video was already delivered by an earlier run: nothing to do');
        return 'already-delivered';
      case 'busy':
        this.takeAfterMarker();
        this.log.info({ retryInMs: result.retryInMs }, 'another worker is delivering this video: checking again later');
        return this.delay(result.retryInMs);
    }
  }

  /**
   * The last attempt of a finished render failed (the download or the platform kept failing):
   * the link goes out instead, under the same delivery guard. Undefined when there is no
   * finished render to link to, or the link could not be sent either.
   */
  async linkInstead(error: unknown): Promise<RenderOutcome | undefined> {
    if (this.data.phase !== 'deliver') return undefined;
    try {
      this.data = { ...this.data, fileRefused: true };
      const outcome = await this.deliver(() => this.sendLink(`the file could not be delivered: ${JSON.stringify(describeError(error))}`, 'refused'));
      return outcome;
    } catch (linkError) {
      // Another worker holds the delivery: the job was moved to wait for it.
      if (linkError instanceof DelayedError) throw linkError;
      this.log.error({ error: describeError(linkError) }, 'could not send the link either');
      return undefined;
    }
  }

  /**
   * Streams the MP4 into the chat, or sends its public link when it is too large there or the
   * platform refuses the file. A refusal is remembered in the job, so a re-run (the link send
   * failed too) does not download the MP4 again.
   */
  private async send(deliveryId: string): Promise<RenderOutcome> {
    const { address, language } = this.data;
    if (this.data.fileRefused) return this.sendLink('the platform refused the file on an earlier run', 'refused');
    await this.editProgress(t(language, 'renderDownloading'));
    const limit = this.outbox.maxUploadBytes(address);
    const video = this.deps.video;
    if (video !== undefined) return this.sendPrepared(deliveryId, limit, video);
    if (this.data.sizeBytes !== undefined && this.data.sizeBytes > limit) {
      return this.sendLink('size announced by the render exceeds the platform limit');
    }
    const opened = await this.openOutput();
    const size = opened.size ?? this.data.sizeBytes;
    try {
      if (size === undefined || size > limit) {
        opened.stream.destroy();
        return await this.sendLink(size === undefined ? 'size unknown' : 'download exceeds the platform limit');
      }
      return await this.upload(
        { filename: `${deliveryId}.mp4`, size, stream: opened.stream, caption: this.caption(false), deliveryId },
        () => sourceFailed(opened.error() ?? opened.stream.errored),
      );
    } finally {
      if (!opened.stream.destroyed) opened.stream.destroy();
    }
  }

  /**
   * The render through the worker's ffmpeg step: downloaded to a work file, fitted under the
   * chat's limit when larger (with progress in the chat), sent with its size, length and poster.
   * The work directory is removed whatever happens.
   */
  private async sendPrepared(deliveryId: string, limit: number, settings: VideoPrepSettings): Promise<RenderOutcome> {
    if (this.data.sizeBytes !== undefined && this.data.sizeBytes > settings.maxInputBytes) {
      return this.sendLink('size announced by the render exceeds what the worker fits');
    }
    const opened = await this.openOutput();
    let prepared: PreparedVideo;
    try {
      if (opened.size !== undefined && opened.size > settings.maxInputBytes) {
        return await this.sendLink('download exceeds what the worker fits');
      }
      let shown = Promise.resolve();
      let lastStep = -1;
      const platform = platformName(this.outbox.platform);
      const preparation = await prepareVideo(opened.stream, limit, settings, {
        log: this.log,
        onFitting: (percent) => {
          // A step of 10 %: the chat's edit pacing would drop most finer ones anyway.
          const step = Math.floor(percent / 10);
          if (step <= lastStep) return;
          lastStep = step;
          shown = shown.then(() => this.editProgress(t(this.data.language, 'videoFitting', { platform, percent: step * 10 })));
        },
      });
      await shown;
      if (preparation.kind === 'link') return await this.sendLink(preparation.why);
      prepared = preparation.video;
    } finally {
      if (!opened.stream.destroyed) opened.stream.destroy();
    }
    try {
      const { info, frames, fitted } = prepared;
      const file: VideoFile = {
        filename: videoFilename(this.data.title, this.data.sessionId, deliveryId),
        size: prepared.size,
        stream: createReadStream(prepared.path),
        caption: this.caption(fitted !== undefined),
        deliveryId,
        ...(info === undefined ? {} : { meta: { durationSec: info.durationSec, width: info.width, height: info.height } }),
        ...(frames.thumbnail === undefined ? {} : { thumbnail: frames.thumbnail }),
        ...(frames.cover === undefined ? {} : { cover: frames.cover }),
        ...(info === undefined ? {} : { description: videoDescription(this.data.language, this.data.title, info) }),
      };
      // The work file is local: a read error here is the disk's, and the job tries again.
      return await this.upload(file, () => sourceFailed(file.stream.errored));
    } finally {
      await prepared.cleanup();
    }
  }

  private async openOutput(): Promise<{ stream: Readable; size: number | undefined; error(): unknown }> {
    const status: RenderStatus = { id: this.data.renderId, status: 'completed' };
    if (this.data.outputUrl !== undefined) status.url = this.data.outputUrl;
    if (this.data.sizeBytes !== undefined) status.sizeBytes = this.data.sizeBytes;
    const opened = await this.deps.api.openRenderOutput(await this.cred(), status);
    // Destroying an HTTP body emits an abort error; with no listener it would crash the process.
    // Consumers (pipeline, for await) still see errors through their own listeners. Any other
    // error is the download's own failure, not the platform's: it is retried, not linked.
    let sourceError: unknown;
    opened.stream.on('error', (error: unknown) => {
      sourceError ??= error;
    });
    return { stream: opened.stream, size: opened.size ?? this.data.sizeBytes, error: () => sourceError };
  }

  /** The caption: the project link where the chat may read it, and the full-quality link under a fitted video. */
  private caption(fitted: boolean): string {
    const { projectLink, language, outputUrl, address, version } = this.data;
    const privateLink = projectLink !== undefined && this.outbox.isShared(address);
    // A terminal has no replies: it has /projects and /switch.
    const replies = address.platform !== 'console';
    if (fitted && outputUrl !== undefined) {
      return t(language, 'videoFitted', { url: outputUrl, link: privateLink ? '' : (projectLink ?? ''), ...(version === undefined ? {} : { version }), replies });
    }
    const link = projectLink === undefined || privateLink ? undefined : projectLink;
    if (version === undefined) return link === undefined ? t(language, 'videoReadyNoLink') : t(language, 'videoReady', { link });
    // "Video ready: v3. Reply to this message to change it."
    return t(language, 'videoReadyVersion', { version, link: link ?? '', replies });
  }

  /** What a delivery leaves for after its marker; undefined outside a delivery. */
  private takeAfterMarker(): Array<() => Promise<void>> {
    const tasks = this.afterMarker ?? [];
    this.afterMarker = undefined;
    return tasks;
  }

  /** During a delivery, `task` waits for the delivered marker; otherwise it runs now. */
  private async afterDelivered(task: () => Promise<void>): Promise<void> {
    if (this.afterMarker) this.afterMarker.push(task);
    else await task();
  }

  /** Best effort: the video is out either way; only a reply to it would not find its project. */
  private async mapToProject(messageId: string | undefined): Promise<void> {
    await this.afterDelivered(() => this.mapToProjectNow(messageId));
  }

  private async mapToProjectNow(messageId: string | undefined): Promise<void> {
    const { messages } = this.deps;
    const { projectRef, address, sessionKey } = this.data;
    const target = messageId === undefined ? undefined : (this.outbox.replyTarget?.(messageId) ?? messageId);
    if (messages === undefined || target === undefined || target === '' || projectRef === undefined) return;
    try {
      await messages.remember({ platform: address.platform, chatId: address.chatId }, target, { userId: sessionKey.userId, projectRef });
    } catch (error) {
      this.log.warn({ error: describeError(error) }, 'could not note which project the video belongs to');
    }
  }

  /** Sends the file; the link instead when the platform refuses it. Throws what the job should retry. */
  private async upload(file: VideoFile, sourceBroken: () => boolean): Promise<RenderOutcome> {
    const { projectLink, address } = this.data;
    const privateLink = projectLink !== undefined && this.outbox.isShared(address);
    let messageId: string | undefined;
    try {
      messageId = await this.outbox.sendVideo(address, file);
    } catch (error) {
      if (error instanceof FileTooLargeForPlatformError) return this.sendLink('the platform refused the upload as too large');
      if (error instanceof PlatformRateLimitedError || error instanceof OutboxClosedError || sourceBroken()) {
        // A wait asked by the platform, a stopping process, or a broken download: the job tries the file again.
        throw error;
      }
      this.log.warn({ error: describeError(error) }, 'the platform refused the video file: sending the link instead');
      await this.save({ fileRefused: true });
      return this.sendLink('the platform refused the file', 'refused');
    }
    await this.mapToProject(messageId);
    // The claim link opens the project for whoever has it: in a group it goes to the person privately.
    if (privateLink) await this.afterDelivered(() => this.projectLinkPrivately(projectLink));
    return 'delivered';
  }

  /**
   * The public `output.url` only: the API's download endpoint needs the bearer token. Without
   * one, the project link (where the video can be downloaded); never "the render failed".
   */
  private async sendLink(why: string, reason: 'too-large' | 'refused' = 'too-large'): Promise<RenderOutcome> {
    const { language, outputUrl, projectLink } = this.data;
    this.log.info({ why }, 'sending the video as a link');
    if (outputUrl === undefined) {
      const text = t(language, 'videoInProject', { link: projectLink ?? this.deps.webUrl });
      await (projectLink === undefined ? this.say(text) : this.sayPrivately(text, t(language, 'videoInProjectPublic')));
    } else {
      const key = reason === 'refused' ? 'videoAsLinkRefused' : 'videoAsLink';
      const text = t(language, key, { url: outputUrl, link: projectLink ?? '' });
      await (projectLink === undefined ? this.say(text) : this.sayPrivately(text, t(language, key, { url: outputUrl, link: '' })));
    }
    return 'delivered-as-link';
  }

  /** After the video: its caption left the claim link out (a shared chat). Never fails the delivery. */
  private async projectLinkPrivately(link: string): Promise<void> {
    try {
      await this.sayPrivately(t(this.data.language, 'projectLink', { link }));
    } catch (error) {
      this.log.warn({ error: describeError(error) }, 'could not send the project link privately (the video was delivered)');
    }
  }

  /** Ends the job with a message when NemoVideo refuses the export for the account (the engine's words for it). */
  private async refusal(error: unknown): Promise<RenderOutcome | undefined> {
    if (!(error instanceof NemoApiError)) return undefined;
    const outOfCredits = error.nemoCode === NemoCode.NoCredits;
    if (!outOfCredits && error.status !== 402) return undefined;
    this.log.info(outOfCredits ? 'export refused (2001): out of credits' : 'export refused (402): the account must register');
    const { language, nemoUserId } = this.data;
    const answer = errorAnswer(error, language, { webUrl: this.deps.webUrl, anonymous: nemoUserId !== undefined, nemoUserId });
    await (answer.publicText === undefined ? this.say(answer.text) : this.sayPrivately(answer.text, answer.publicText));
    return outOfCredits ? 'no-credits' : 'needs-account';
  }

  private async existsAlready(cred: NemoCredentials): Promise<boolean> {
    try {
      await this.deps.api.renderStatus(cred, this.data.renderId);
      return true;
    } catch {
      return false;
    }
  }

  /** The export's number goes back to its project (see `SessionStore.giveBackVersion`). Never throws. */
  async giveBackVersion(): Promise<void> {
    const { sessionKey, projectRef, version } = this.data;
    if (this.deps.versions === undefined || projectRef === undefined || version === undefined) return;
    try {
      const given = await this.deps.versions.giveBackVersion(sessionKey, projectRef, version);
      this.log.info({ version, given }, given ? 'version number given back' : 'version number kept: a later export holds one');
    } catch (error) {
      this.log.warn({ error: describeError(error) }, 'could not give the version number back');
    }
  }

  /** The last word when BullMQ gives up on the job. Never throws. */
  async tellFailed(error: unknown): Promise<void> {
    try {
      await this.say(t(this.data.language, 'renderFailed', { reason: reasonOf(error, this.data.language) }));
    } catch (sendError) {
      this.log.error({ error: describeError(sendError) }, 'could not tell the user the render failed');
    }
  }

  /** Edits the progress message, or sends it (returning its new id) when there is none yet. */
  private async showProgress(text: string): Promise<string | undefined> {
    const { address } = this.data;
    if (address.progressMessageId !== undefined) {
      await this.editProgress(text);
      return undefined;
    }
    const messageId = await this.outbox.sendText(address, text);
    await this.mapToProject(messageId);
    return messageId;
  }

  /** A failed edit (message deleted, too old) must not fail the render. */
  private async editProgress(text: string): Promise<void> {
    const { address } = this.data;
    if (address.progressMessageId === undefined) return;
    try {
      await this.outbox.editText(address, address.progressMessageId, text);
    } catch (error) {
      this.log.info({ error: describeError(error) }, 'could not edit the progress message (ignored)');
    }
  }

  private async say(text: string): Promise<void> {
    await this.mapToProject(await this.outbox.sendText(this.data.address, text));
  }

  /** `text` holds a link for this person alone (see `PrivateReply`). */
  private async sayPrivately(text: string, publicText?: string): Promise<void> {
    await this.outbox.sendPrivate(this.data.address, {
      kind: 'private-link',
      text,
      ...(publicText === undefined ? {} : { publicText }),
      language: this.data.language,
    });
  }

  private async cred(): Promise<NemoCredentials> {
    this.credentials ??= await this.deps.credentialsFor(this.data);
    return this.credentials;
  }

  private async save(patch: Partial<RenderJobData>): Promise<void> {
    this.data = { ...this.data, ...patch };
    await this.job.updateData(this.data);
  }

  private async delay(ms: number): Promise<never> {
    await this.job.moveToDelayed(Date.now() + ms, this.token);
    throw new DelayedError();
  }
}

/** How the progress line names the chat. */
function platformName(platform: Platform): string {
  return platform === 'telegram' ? 'Telegram' : platform === 'discord' ? 'Discord' : 'the terminal';
}

/** The download broke by itself (`errored` is set at once; the event may come later), not by its reader's destroy. */
function sourceFailed(error: unknown): boolean {
  return error !== undefined && error !== null && !isAbort(error);
}

/** The error a body emits when its reader destroys it (the outbox, after a refusal), not a failed download. */
function isAbort(error: unknown): boolean {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  return code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR' || code === 'ERR_STREAM_PREMATURE_CLOSE' || name === 'AbortError';
}

function isConflict(error: unknown): boolean {
  return error instanceof NemoApiError && error.status === 409;
}

/** Network, 5xx, 409 and 429: the submit itself failed, so it is retried once with a new id. */
function isSubmitRetryable(error: unknown): boolean {
  if (isConflict(error)) return true;
  const { action } = classify(error);
  return action === 'retry' || action === 'wait_and_retry';
}

function shorten(text: string): string {
  const clean = scrubSecrets(redactTokens(text)).replace(/\s+/g, ' ').trim();
  return clean.length > MAX_REASON_CHARS ? `${clean.slice(0, MAX_REASON_CHARS - 1)}…` : clean;
}

/** A short, token-free reason for the user, in their language (the service's own words quoted as they are). */
function reasonOf(error: unknown, language: Language): string {
  if (error instanceof NemoApiError) {
    if (error.serviceMessage !== undefined) return t(language, 'failureService', { text: shorten(error.serviceMessage) });
    return t(language, 'failureStatus', { status: error.status, code: error.nemoCode === undefined ? '' : String(error.nemoCode) });
  }
  if (error instanceof Error && 'code' in error && error.code === 'nemo_network_error') return t(language, 'failureNoAnswer');
  return t(language, 'failureInternal');
}
