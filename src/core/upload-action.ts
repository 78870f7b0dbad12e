import { checkUpload, isDocument, isMediaUrl } from '../nemo/formats.js';
import type { NemoCredentials, UploadedFile, UploadSource } from '../nemo/types.js';
import type { Conversation } from './conversation.js';
import { readDocumentText } from './documents.js';
import { t } from './i18n.js';
import type { SessionRecord } from './session-store.js';
import type { Attachment } from './types.js';

export interface UploadContext {
  api: {
    uploadFile(cred: NemoCredentials, sessionId: string, file: UploadSource): Promise<UploadedFile[]>;
    uploadUrls(cred: NemoCredentials, sessionId: string, urls: string[]): Promise<UploadedFile[]>;
  };
  documentMaxChars: number;
  withProject<T>(conv: Conversation, work: (record: SessionRecord) => Promise<T>): Promise<T>;
  errorText(conv: Conversation, error: unknown, fileName?: string): Promise<string>;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;

/** Links to media files (by their extension) in a message: these are uploaded by URL. */
export function mediaLinksIn(text: string): string[] {
  return (text.match(URL_PATTERN) ?? []).filter((url) => isMediaUrl(url));
}

/**
 * Takes a message's files: media is checked before any byte is read and streamed to
 * NemoVideo; documents are read into text locally; media links are uploaded by URL. Each
 * refused file gets its own friendly reply and the others go on. Returns what is left to
 * relay to the agent: the user's words and the documents' text (empty: nothing to relay).
 */
export async function receiveUploads(ctx: UploadContext, conv: Conversation, attachments: Attachment[], text: string): Promise<string> {
  const { lang, reply } = conv;
  const documents: string[] = [];
  const uploaded: string[] = [];
  let failed = false;

  for (const attachment of attachments) {
    try {
      if (isDocument(attachment.name, attachment.mimeType)) {
        const doc = await readDocumentText(attachment, ctx.documentMaxChars);
        if (doc.truncated) await reply.send(t(lang, 'documentTruncated', { name: attachment.name, chars: ctx.documentMaxChars }));
        documents.push(`[${attachment.name}]\n${doc.text}`);
        continue;
      }
      const refused = checkUpload(attachment.name, attachment.mimeType, attachment.size);
      if (refused) throw refused;
      await reply.progress(t(lang, 'uploading', { name: attachment.name }));
      await ctx.withProject(conv, (record) =>
        ctx.api.uploadFile(conv.cred, record.sessionId, {
          name: attachment.name,
          mimeType: attachment.mimeType,
          size: attachment.size,
          open: () => attachment.open(),
        }),
      );
      uploaded.push(attachment.name);
    } catch (error) {
      failed = true;
      conv.log.warn({ err: { name: (error as Error).name, code: (error as { code?: unknown }).code }, file: attachment.name }, 'attachment refused');
      await reply.send(await ctx.errorText(conv, error, attachment.name));
    }
  }

  const links = mediaLinksIn(text);
  let words = text;
  if (links.length > 0) {
    await ctx.withProject(conv, (record) => ctx.api.uploadUrls(conv.cred, record.sessionId, links));
    uploaded.push(...links.map(fileNameOf));
    for (const link of links) words = words.replace(link, '');
    words = words.trim();
  }

  const relay = [words, ...documents].filter((part) => part.trim().length > 0).join('\n\n');
  if (uploaded.length > 0) {
    const done = t(lang, 'uploaded', { names: uploaded.join(', ') });
    if (relay) await reply.send(done);
    else await reply.progress(done);
  }
  if (!relay && uploaded.length === 0 && !failed) await reply.send(t(lang, 'uploadUsage'));
  return relay;
}

function fileNameOf(url: string): string {
  const last = new URL(url).pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(last) || url;
  } catch {
    return last || url;
  }
}
