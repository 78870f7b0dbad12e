import { NemoStreamError } from '../nemo/errors.js';
import { diffDrafts, parseDraft, type Draft } from '../nemo/draft.js';
import type { NemoCredentials, SessionState, TurnEvent } from '../nemo/types.js';
import type { ChatReply } from './chat-reply.js';
import { translateAgentText } from './gui-translate.js';
import { t } from './i18n.js';
import { describeChanges, timelineSummary } from './timeline-text.js';
import { buttonRows, type ButtonAction } from './commands.js';
import { clipsIn, type ClipPreview } from './clip-previews.js';
import type { Button, Language } from './types.js';

export interface TurnApi {
  runTurn(cred: NemoCredentials, sessionId: string, text: string, options?: { signal?: AbortSignal }): AsyncIterable<TurnEvent>;
  state(cred: NemoCredentials, sessionId: string): Promise<SessionState>;
}

export interface TurnSettings {
  stillWorkingMs: number;
  recoveryFirstWaitMs: number;
  recoveryWaitMs: number;
  recoveryMaxChecks: number;
}

export interface TurnDeps {
  api: TurnApi;
  settings: TurnSettings;
  sleep: (ms: number) => Promise<void>;
  logger: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
  /** Called when a silent stretch (keep-alives only) produced a "Still working…" notice. */
  onStillWorking?: () => void;
}

export interface TurnInput {
  cred: NemoCredentials;
  sessionId: string;
  text: string;
  reply: ChatReply;
  /** The draft after the previous turn, if known: saves a state read. */
  draftBefore?: unknown;
  /** Aborted on shutdown: the turn stops without a report and is recovered after the restart. */
  signal?: AbortSignal;
}

export interface TurnResult {
  /** The raw draft after the turn, when it could be read. */
  draftAfter: unknown;
  outcome: 'answered' | 'recovered' | 'failed' | 'interrupted';
}

/** The buttons under an answer: the next things people usually do. */
export function answerButtons(lang: Language): Button[] {
  return buttonRows().map((row) => ({ label: t(lang, row.label), action: row.action as ButtonAction }));
}

const MAX_PREVIEWS_PER_TURN = 4;

// The agent sometimes appends this after a normal answer; it means nothing to the user then.
const TRAILING_NOISE = /encountered a temporary issue/i;

/** What one turn's stream told us, gathered while it runs. */
interface TurnLog {
  texts: string[];
  partial: string;
  generated: boolean;
  rawVideoReady: boolean;
  edited: boolean;
  /** The last `errorCode` of the turn; its `errorMessage` is model or vendor text, never shown. */
  modelError?: string;
  /** An error frame (`{"error":…}`) ended the turn: the agent failed, maybe midway. */
  serverError: boolean;
  /** Clip URLs already shown as previews in this turn. */
  previewed: Set<string>;
}

export type ModelErrorKind = 'refusal' | 'cut_short' | 'trouble';

// Content-policy outcomes of Gemini and ADK (finish and block reasons): the model declined.
const REFUSAL_CODES = /SAFETY|BLOCKLIST|PROHIBITED|SPII|RECITATION|JAILBREAK|MODEL_ARMOR|^LANGUAGE$/i;

/**
 * What an `errorCode` means for the user. Only content policy is a refusal; `MAX_TOKENS` that
 * came with text cut the answer short; the rest (`"429"`, `"503"`, `UNKNOWN_ERROR`, malformed
 * calls…) is the model service failing for now.
 */
export function modelErrorKind(code: string, hadText: boolean): ModelErrorKind {
  if (REFUSAL_CODES.test(code)) return 'refusal';
  if (/^MAX_TOKENS$/i.test(code) && hadText) return 'cut_short';
  return 'trouble';
}

/**
 * Relays one message to the agent and reports back: progress while it works, the agent's
 * words without GUI directions, and what changed on the timeline — never silence. A broken
 * stream is recovered by reading the state, never by sending the message again.
 */
export async function runChatTurn(deps: TurnDeps, input: TurnInput): Promise<TurnResult> {
  const { reply } = input;
  const lang = reply.lang;
  const before = input.draftBefore ?? (await readDraft(deps, input));
  const started = Date.now();
  const log: TurnLog = { texts: [], partial: '', generated: false, rawVideoReady: false, edited: false, serverError: false, previewed: new Set() };

  await reply.progress(t(lang, 'thinking'));
  const stillWorking = startStillWorking(deps, reply, started);
  let broken: NemoStreamError | undefined;
  try {
    for await (const event of deps.api.runTurn(input.cred, input.sessionId, input.text, input.signal ? { signal: input.signal } : {})) {
      if (event.type !== 'keepalive') stillWorking.touch();
      await onEvent(event, log, reply);
    }
  } catch (error) {
    if (input.signal?.aborted) {
      await reply.progress(t(lang, 'restarting'));
      return { draftAfter: before, outcome: 'interrupted' };
    }
    if (!(error instanceof NemoStreamError)) throw error;
    broken = error;
    deps.logger.warn({ err: { code: error.code } }, 'turn stream broke');
  } finally {
    stillWorking.stop();
  }

  if (broken) {
    return recover(deps, input, before, log, {
      progress: t(lang, 'recovering'),
      incomplete: (text) => t(lang, 'incomplete', { text }),
      partial: broken.partialText,
    });
  }
  // An error frame: the agent failed, possibly after doing part of the work. Its text so far is
  // shown, and the outcome is read from the state as after a broken stream, never "Done".
  if (log.serverError) {
    return recover(deps, input, before, log, {
      progress: t(lang, 'agentFailedRecovering'),
      incomplete: (text) => t(lang, 'incompleteStopped', { text }),
      partial: '',
    });
  }

  let stateClips: ClipPreview[] = [];
  const after = await readDraft(deps, input, (state) => {
    // A generate whose result carried no URL: the newest clip the project state lists, if any.
    if (log.generated && log.previewed.size === 0) stateClips = clipsIn([state.generatedMedia, state.videoInfos]).slice(-1);
  });
  for (const clip of stateClips) await input.reply.preview(clip);
  await report(input, log, before, after);
  return { draftAfter: after ?? before, outcome: 'answered' };
}

async function onEvent(event: TurnEvent, log: TurnLog, reply: ChatReply): Promise<void> {
  const lang = reply.lang;
  switch (event.type) {
    case 'partial':
      log.partial += event.text;
      return;
    case 'text':
      log.partial = '';
      if (log.texts.length > 0 && TRAILING_NOISE.test(event.text)) return;
      log.texts.push(event.text);
      return;
    case 'tool_call':
      log.partial = '';
      if (/generate/i.test(event.name)) {
        log.generated = true;
        await reply.progress(t(lang, 'generating'));
      } else {
        log.edited = true;
        if (!log.generated) await reply.progress(t(lang, 'editing'));
      }
      return;
    case 'tool_result':
      if (/generate/i.test(event.name) && !log.rawVideoReady) {
        log.rawVideoReady = true;
        await reply.progress(t(lang, 'rawVideoReady'));
      }
      // A generated clip is shown at once, before the answer and long before an export.
      for (const clip of clipsIn(event.response)) {
        if (log.previewed.has(clip.url) || log.previewed.size >= MAX_PREVIEWS_PER_TURN) continue;
        log.previewed.add(clip.url);
        await reply.preview(clip);
      }
      return;
    case 'model_error':
      log.modelError = event.code;
      return;
    case 'server_error':
      log.serverError = true;
      return;
    case 'keepalive':
      return;
  }
}

/** The final answer: the agent's words, then what changed, then what to do next. */
async function report(input: TurnInput, log: TurnLog, beforeRaw: unknown, afterRaw: unknown): Promise<void> {
  const { reply } = input;
  const lang = reply.lang;
  const before = parseDraft(beforeRaw);
  const after = parseDraft(afterRaw);
  const changes = afterRaw === undefined ? [] : diffDrafts(before, after);
  const parts: string[] = [];

  const translated = translateAgentText(log.texts.join('\n\n'));
  if (translated.text.trim()) parts.push(translated.text.trim());
  // A preview no whole event replaced: the stream ended (or failed) before its final text.
  const preview = log.partial.trim();
  if (preview) parts.push(t(lang, 'incompleteStopped', { text: translateAgentText(preview).text.trim() || preview }));
  const errorKind = log.modelError === undefined ? undefined : modelErrorKind(log.modelError, translated.text.trim() !== '');
  if (errorKind === 'refusal') parts.push(t(lang, 'modelRefused'));
  else if (errorKind === 'cut_short') parts.push(t(lang, 'answerCutShort'));
  else if (errorKind === 'trouble') parts.push(t(lang, 'modelTrouble'));

  if (log.generated && hasPostProduction(after)) {
    parts.push(t(lang, 'postProduction', { timeline: timelineSummary(after, lang) }));
  } else if (changes.length > 0) {
    parts.push(t(lang, 'changed', { lines: describeChanges(changes, lang).join('\n') }));
  } else if (translated.intents.includes('status') && after.tracks.length > 0) {
    parts.push(timelineSummary(after, lang));
  }

  if (parts.length === 0) parts.push(t(lang, 'noChange'));
  if (changes.length > 0 || log.generated) parts.push(t(lang, 'nextSteps'));
  else if (translated.intents.includes('export')) parts.push(t(lang, 'exportHint'));

  await reply.progress(doneText(lang, log, errorKind));
  await reply.send(parts.join('\n\n'), { buttons: answerButtons(lang), project: input.sessionId });
}

function doneText(lang: Language, log: TurnLog, errorKind: ModelErrorKind | undefined): string {
  if (errorKind === 'refusal' || errorKind === 'trouble') return t(lang, 'turnProblem');
  return log.generated ? t(lang, 'doneGenerated') : t(lang, 'doneTurn');
}

function hasPostProduction(draft: Draft): boolean {
  return draft.tracks.some((track) => track.kind === 'audio' || track.kind === 'text');
}

interface RecoveryWords {
  /** The progress message while the state is watched. */
  progress: string;
  /** A preview marked as incomplete. */
  incomplete: (text: string) => string;
  /** The stream's own preview at the break, if it kept one. */
  partial: string;
}

/**
 * A broken or stalled stream, or an agent that failed midway: show what arrived, a preview
 * marked incomplete, then watch the state for the result.
 */
async function recover(deps: TurnDeps, input: TurnInput, beforeRaw: unknown, log: TurnLog, words: RecoveryWords): Promise<TurnResult> {
  const { reply } = input;
  const shown = translateAgentText(log.texts.join('\n\n')).text.trim();
  const partial = (words.partial || log.partial).trim();
  if (shown) await reply.send(shown);
  if (partial) await reply.send(words.incomplete(translateAgentText(partial).text.trim() || partial));
  await reply.progress(words.progress);
  return recoverFromState(deps, input, beforeRaw);
}

/**
 * Watches the project state after a turn whose end we did not see (a broken stream, or a
 * restart): reports what changed, or that nothing did, with an offer to retry.
 */
export async function recoverFromState(
  deps: TurnDeps,
  input: Pick<TurnInput, 'cred' | 'sessionId' | 'reply'>,
  beforeRaw: unknown,
): Promise<TurnResult> {
  const { reply } = input;
  const lang = reply.lang;
  const before = parseDraft(beforeRaw);
  const { recoveryFirstWaitMs, recoveryWaitMs, recoveryMaxChecks } = deps.settings;
  for (let check = 0; check < recoveryMaxChecks; check++) {
    await deps.sleep(check === 0 ? recoveryFirstWaitMs : recoveryWaitMs);
    const afterRaw = await readDraft(deps, input);
    if (afterRaw === undefined) continue;
    const changes = diffDrafts(before, parseDraft(afterRaw));
    if (changes.length > 0) {
      deps.logger.info({ checks: check + 1 }, 'turn recovered from state');
      await reply.progress(t(lang, 'doneTurn'));
      await reply.send(t(lang, 'recovered', { lines: describeChanges(changes, lang).join('\n') }) + '\n\n' + t(lang, 'nextSteps'), {
        buttons: answerButtons(lang),
        project: input.sessionId,
      });
      return { draftAfter: afterRaw, outcome: 'recovered' };
    }
  }
  await reply.progress(t(lang, 'recoveryFailedShort'));
  await reply.send(t(lang, 'recoveryFailed'));
  return { draftAfter: beforeRaw, outcome: 'failed' };
}

async function readDraft(deps: TurnDeps, input: Pick<TurnInput, 'cred' | 'sessionId'>, onState?: (state: SessionState) => void): Promise<unknown> {
  try {
    const state = await deps.api.state(input.cred, input.sessionId);
    onState?.(state);
    return state.draft;
  } catch (error) {
    deps.logger.warn({ err: { name: (error as Error).name, code: (error as { code?: unknown }).code } }, 'state read failed');
    return undefined;
  }
}

/** Edits the progress message every `stillWorkingMs` of silence (keep-alives only). */
function startStillWorking(deps: TurnDeps, reply: ChatReply, started: number) {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      deps.onStillWorking?.();
      const minutes = Math.max(1, Math.round((Date.now() - started) / 60_000));
      reply.progress(t(reply.lang, 'stillWorking', { minutes })).catch((error: unknown) => {
        deps.logger.warn({ err: { name: (error as Error).name } }, 'still-working notice failed');
      });
      arm();
    }, deps.settings.stillWorkingMs);
    timer.unref();
  };
  arm();
  return {
    touch() {
      clearTimeout(timer);
      arm();
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
