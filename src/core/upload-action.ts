import type { LimitFunction } from 'p-limit';
import { convertVoiceNote, isVoiceNote, VoiceNoteError, type VoiceNoteOptions } from '../media/voice-note.js';
import { checkUpload, isDocument, isMediaUrl } from '../nemo/formats.js';
import type { NemoCredentials, UploadedFile, UploadSource } from '../nemo/types.js';
import type { ReplyText } from './chat-reply.js';
import type { Conversation } from './conversation.js';
import { readDocumentText, type DocumentParser, type DocumentText } from './documents.js';
import { documentBlock, fitDocuments } from './fit-documents.js';
import { t } from './i18n.js';
import type { SessionRecord } from './session-store.js';
import type { Attachment } from './types.js';

export interface UploadContext {
  api: {
    uploadFile(cred: NemoCredentials, sessionId: string, file: UploadSource): Promise<UploadedFile[]>;
    uploadUrls(cred: NemoCredentials, sessionId: string, urls: string[]): Promise<UploadedFile[]>;
  };
  documentMaxChars: number;
  /** What one turn may relay at most: the words and every document's text together. */
  maxRelayChars?: number | undefined;
  /** Parses .pdf and .docx off the event loop (default: the process's shared pool). */
  documents?: DocumentParser | undefined;
  withProject<T>(conv: Conversation, work: (record: SessionRecord) => Promise<T>): Promise<T>;
  /** The answer to a failed file; it may hold a registration link for the person alone. */
  errorText(conv: Conversation, error: unknown, fileName?: string): Promise<ReplyText>;
  /** Counts `count` uploads against the person's daily limit; false (the person told) when over it. */
  allowUploads(conv: Conversation, count: number): Promise<boolean>;
  /** How voice notes are converted (ffmpeg's path, limits); the defaults suit production. */
  voiceNotes?: VoiceNoteOptions;
  /** Runs conversions a few at a time: each is an ffmpeg process, and many people may send voice notes at once. */
  voiceSlots?: LimitFunction;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;

/** Links to media files (by their extension) in a message: these are uploaded by URL. */
export function mediaLinksIn(text: string): string[] {
  return (text.match(URL_PATTERN) ?? []).filter((url) => isMediaUrl(url));
}

/**
 * Takes a message's files: media is checked before any byte is read and streamed to
 * NemoVideo; voice notes (Ogg/Opus, which NemoVideo refuses) are converted to .m4a first;
 * documents are read into text locally; media links are uploaded by URL. Each
 * refused file gets its own friendly reply and the others go on. Returns what is left to
 * relay to the agent: the user's words and the documents' text (empty: nothing to relay).
 */
export async function receiveUploads(ctx: UploadContext, conv: Conversation, attachments: Attachment[], text: string): Promise<string> {
  const { lang, reply } = conv;
  const documents: Array<DocumentText & { name: string }> = [];
  const uploaded: string[] = [];
  let failed = false;
  // After one refusal of the daily upload limit the rest of the message is not uploaded, silently.
  let overQuota = false;

  for (const attachment of attachments) {
    let cleanup: (() => Promise<void>) | undefined;
    try {
      if (isDocument(attachment.name, attachment.mimeType)) {
        const doc = await readDocumentText(attachment, ctx.documentMaxChars, ctx.documents);
        documents.push({ ...doc, name: attachment.name });
        continue;
      }
      let file = attachment;
      const refused = checkUpload(attachment.name, attachment.mimeType, attachment.size);
      // Only a file NemoVideo would refuse for its type is converted: anything it takes goes as sent.
      const convertible = refused?.code === 'unsupported_file' && isVoiceNote(attachment.name, attachment.mimeType);
      if (refused && !convertible) throw refused;
      // Counted before any conversion or upload: refused work costs nothing.
      if (overQuota || !(await ctx.allowUploads(conv, 1))) {
        overQuota = true;
        failed = true;
        continue;
      }
      if (convertible) {
        await reply.progress(t(lang, 'convertingVoiceNote', { name: attachment.name }));
        const convert = () => convertVoiceNote(attachment, ctx.voiceNotes);
        // The conversion's time limit starts when its slot does: waiting for one is not converting.
        const converted = await (ctx.voiceSlots ? ctx.voiceSlots(convert) : convert());
        cleanup = converted.cleanup;
        file = converted.attachment;
        const tooLarge = checkUpload(file.name, file.mimeType, file.size);
        if (tooLarge) throw tooLarge;
      }
      await reply.progress(t(lang, 'uploading', { name: file.name }));
      await ctx.withProject(conv, (record) =>
        ctx.api.uploadFile(conv.cred, record.sessionId, {
          name: file.name,
          mimeType: file.mimeType,
          size: file.size,
          open: () => file.open(),
        }),
      );
      uploaded.push(file.name);
    } catch (error) {
      failed = true;
      // A voice note's reason (ffmpeg's last error line, a timeout) is ours to log; never file contents.
      const reason = error instanceof VoiceNoteError ? { reason: error.message } : {};
      conv.log.warn({ err: { name: (error as Error).name, code: (error as { code?: unknown }).code, ...reason }, file: attachment.name }, 'attachment refused');
      await reply.answer(await ctx.errorText(conv, error, attachment.name));
    } finally {
      await cleanup?.();
    }
  }

  const filesArrived = uploaded.length + documents.length > 0;
  const links = mediaLinksIn(text);
  let words = text;
  if (links.length > 0) {
    if (!overQuota && (await ctx.allowUploads(conv, links.length))) {
      await ctx.withProject(conv, (record) => ctx.api.uploadUrls(conv.cred, record.sessionId, links));
      uploaded.push(...links.map(fileNameOf));
      for (const link of links) words = words.replace(link, '');
      words = words.trim();
    } else {
      // The words are about links that were not uploaded: they are not relayed alone either.
      overQuota = true;
      failed = true;
      words = '';
    }
  }

  // Words sent with files are about those files: when none of them arrived, they are not
  // relayed alone (the agent would act on a caption without its video).
  if (attachments.length > 0 && !filesArrived) words = '';
  const blocks = await fitTurnDocuments(ctx, conv, documents, words);
  const relay = [words, ...blocks].filter((part) => part.trim().length > 0).join('\n\n');
  if (uploaded.length > 0) {
    // With words to relay, the agent is about to act: asking what to do would contradict it.
    const names = uploaded.join(', ');
    if (relay) await reply.send(t(lang, 'uploadedWithWords', { names }));
    else await reply.status(t(lang, 'uploaded', { names }));
  }
  if (!relay && uploaded.length === 0 && !failed) await reply.send(t(lang, 'uploadUsage'));
  return relay;
}

/**
 * The documents' blocks, cut so that the turn stays within the message limit (an album of
 * long documents would pass it otherwise), each cut or capped one said so once.
 */
async function fitTurnDocuments(ctx: UploadContext, conv: Conversation, documents: Array<DocumentText & { name: string }>, words: string): Promise<string[]> {
  const { lang, reply } = conv;
  const budget = ctx.maxRelayChars === undefined ? Number.POSITIVE_INFINITY : ctx.maxRelayChars - words.length;
  const fitted = fitDocuments(documents, budget);
  const blocks: string[] = [];
  for (const [index, doc] of fitted.entries()) {
    const read = documents[index];
    if (doc.text.length === 0 && doc.dropped > 0) {
      await reply.send(t(lang, 'documentLeftOut', { name: doc.name }));
      continue;
    }
    if (doc.dropped > 0 || read?.truncated) {
      const pages = doc.dropped === 0 ? read?.pagesRead : undefined;
      await reply.send(
        pages === undefined ? t(lang, 'documentTruncated', { name: doc.name, chars: doc.text.length }) : t(lang, 'documentPagesRead', { name: doc.name, pages }),
      );
    }
    blocks.push(documentBlock(doc));
  }
  return blocks;
}

function fileNameOf(url: string): string {
  const last = new URL(url).pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(last) || url;
  } catch {
    return last || url;
  }
}
