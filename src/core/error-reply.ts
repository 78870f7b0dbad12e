import { NemoApiError, NemoCode, NemoInputError, NemoNetworkError } from '../nemo/errors.js';
import { acceptedFormatsText, MAX_UPLOAD_BYTES } from '../nemo/formats.js';
import { VOICE_NOTE_MAX_BYTES, VoiceNoteError } from '../media/voice-note.js';
import { AnonymousTokenRefusedError } from './credentials.js';
import { DocumentError } from './documents.js';
import { describeError } from '../lib/describe-error.js';
import type { ReplyText } from './chat-reply.js';
import type { Conversation } from './conversation.js';
import { t } from './i18n.js';
import { AttachmentFetchError, type Language } from './types.js';

export interface ErrorReplyContext {
  webUrl: string;
  /** Anonymous users get a registration link; registered ones are told to top up (`UserCredentials.isAnonymous`). */
  anonymous: boolean;
  /** `anon_…` of an anonymous user: the `?bind=` id of the registration link. */
  nemoUserId?: string | undefined;
  /** The file the error is about, when there is one. */
  fileName?: string | undefined;
}

/** The only place the `?bind=` link is built: the person's own, or the site's front page without an id. */
export function registrationLink(webUrl: string, nemoUserId: string | undefined): string {
  return nemoUserId ? `${webUrl.replace(/\/+$/, '')}/?bind=${encodeURIComponent(nemoUserId)}` : webUrl;
}

/**
 * `errorReply`, with the sentence a shared chat may read when it holds a person's registration
 * link. The engine and the render worker both answer with it, so a refusal reads the same.
 */
export function errorAnswer(error: unknown, lang: Language, ctx: ErrorReplyContext): ReplyText {
  const text = errorReply(error, lang, ctx);
  // Without an id the link is the site's front page: nobody's own.
  if (!ctx.nemoUserId || !text.includes(registrationLink(ctx.webUrl, ctx.nemoUserId))) return { text };
  const outOfCredits = text === t(lang, 'noCredits', { link: registrationLink(ctx.webUrl, ctx.nemoUserId) });
  return { text, publicText: t(lang, outOfCredits ? 'noCreditsPublic' : 'exportNeedsAccountPublic') };
}

/**
 * The friendly sentence for a failed request. Never quotes the service's raw text, so a
 * token or a stack can never reach a chat.
 */
export function errorReply(error: unknown, lang: Language, ctx: ErrorReplyContext): string {
  const name = ctx.fileName ?? '';
  const maxMb = Math.round(MAX_UPLOAD_BYTES / (1024 * 1024));
  // The platform's download may fail under the upload to NemoVideo: it is the cause there.
  if (causes(error).some((cause) => cause instanceof AttachmentFetchError)) return t(lang, 'fileNotFetched', { name });
  if (error instanceof NemoInputError) {
    return error.code === 'file_too_large'
      ? t(lang, 'fileTooLarge', { name, maxMb })
      : t(lang, 'unsupportedFile', { name, formats: acceptedFormatsText() });
  }
  if (error instanceof DocumentError) {
    switch (error.code) {
      case 'document_too_large':
        return t(lang, 'fileTooLarge', { name, maxMb: 10 });
      case 'document_too_complex':
        return t(lang, 'documentTooComplex', { name });
      case 'document_busy':
        return t(lang, 'documentsBusy', { name });
      default:
        return t(lang, 'documentUnreadable', { name });
    }
  }
  if (error instanceof VoiceNoteError) {
    // A broken download reads as it would for any other file.
    if (error.code === 'voice_note_source_failed') return errorReply(error.cause, lang, ctx);
    return error.code === 'voice_note_too_large'
      ? t(lang, 'fileTooLarge', { name, maxMb: Math.round((error.maxBytes ?? VOICE_NOTE_MAX_BYTES) / (1024 * 1024)) })
      : t(lang, 'voiceNoteUnconvertible', { name, formats: acceptedFormatsText('audio') });
  }
  if (error instanceof AnonymousTokenRefusedError) return t(lang, 'noFreeAccounts');
  if (error instanceof NemoApiError) {
    switch (error.nemoCode) {
      case NemoCode.NoCredits:
        return ctx.anonymous
          ? t(lang, 'noCredits', { link: registrationLink(ctx.webUrl, ctx.nemoUserId) })
          : t(lang, 'noCreditsRegistered');
      case NemoCode.UnsupportedFile:
        return t(lang, 'unsupportedFile', { name, formats: acceptedFormatsText() });
      case NemoCode.FileTooLarge:
        return t(lang, 'fileTooLarge', { name, maxMb });
    }
    if (error.status === 402) return t(lang, 'exportNeedsAccount', { link: registrationLink(ctx.webUrl, ctx.nemoUserId) });
    if (error.status === 429 || error.nemoCode === 429) return t(lang, 'rateLimited');
    return t(lang, 'serviceError');
  }
  if (error instanceof NemoNetworkError) return t(lang, 'networkError');
  if (isRedisUnavailable(error)) return t(lang, 'storageUnavailable');
  return t(lang, 'somethingWrong');
}

/** ioredis's own words for a command cut by its timeout or a lost connection (it has no error codes for them). */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return /^(Command timed out|Connection is closed\.|Stream isn't writeable)/.test(error.message);
}

/** The error and its causes, outermost first (a few levels at most). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = error;
  while (current !== undefined && current !== null && chain.length < 5) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

/** `errorAnswer` for the person of `conv`: whether they are anonymous, and their `?bind=` id, read from their account. */
export async function errorTextFor(conv: Conversation, error: unknown, webUrl: string, fileName?: string): Promise<ReplyText> {
  // Reading the user's account needs the Redis that just failed: each read would wait its timeout.
  if (isRedisUnavailable(error)) return errorAnswer(error, conv.lang, { webUrl, anonymous: false, fileName });
  let nemoUserId: string | undefined;
  try {
    nemoUserId = await conv.cred.nemoUserId();
  } catch {
    nemoUserId = undefined;
  }
  let anonymous = false;
  try {
    anonymous = await conv.cred.isAnonymous();
  } catch {
    anonymous = false;
  }
  return errorAnswer(error, conv.lang, { webUrl, anonymous, nemoUserId, fileName });
}

/** Tells the person of `conv` what went wrong; a failure to tell them is only logged. */
export async function replyError(conv: Conversation, error: unknown, webUrl: string): Promise<void> {
  try {
    await conv.reply.answer(await errorTextFor(conv, error, webUrl));
  } catch (sendError) {
    conv.log.error({ err: describeError(sendError) }, 'could not tell the user about a failure');
  }
}
