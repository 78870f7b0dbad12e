import { createHash, type Hash } from 'node:crypto';
import { extname } from 'node:path';
import { z } from 'zod';
import { withVideoClip } from './drafts.js';
import { drain, header, readJson, sendError, sendOk } from './http-io.js';
import { boundaryOf, readMultipart } from './multipart.js';
import { contract, param, type AuthedContext } from './route-context.js';
import type { FakeSession } from './types.js';

const KINDS: Record<string, 'video' | 'image' | 'audio' | 'document'> = {
  mp4: 'video', mov: 'video', avi: 'video', webm: 'video', mkv: 'video',
  jpg: 'image', jpeg: 'image', png: 'image', gif: 'image', webp: 'image',
  mp3: 'audio', wav: 'audio', m4a: 'audio', aac: 'audio',
  txt: 'document', docx: 'document', pdf: 'document',
};
export const ACCEPTED_EXTENSIONS = Object.keys(KINDS);

/** What the fake "analyses" an uploaded video to be: the fixture's own properties. */
const VIDEO_INFO = { duration: 2, width: 160, height: 120, fps: 15 };

const UrlBody = z.strictObject({ urls: z.array(z.url()).min(1), source_type: z.literal('url') });

/** The start of each received file is kept for tests that inspect the bytes (e.g. ffprobe). */
const HEAD_BYTES = 256 * 1024;

interface ReceivedFile {
  filename: string;
  size: number;
  hash: Hash;
  ext: string;
  head: Buffer[];
}

export async function upload(context: AuthedContext): Promise<void> {
  const { req, res, state, caller } = context;
  const session = state.sessionFor(param(context, 0), caller);
  if (session === undefined) {
    await drain(req);
    sendError(res, 404, 1002, 'session not found');
    return;
  }
  const contentType = header(req, 'content-type') ?? '';
  if (contentType.startsWith('multipart/form-data')) {
    await uploadFiles(context, session, contentType);
  } else if (contentType.startsWith('application/json')) {
    await uploadUrls(context, session);
  } else {
    state.violation(`upload: Content-Type ${contentType || '(none)'} is neither multipart/form-data nor JSON`);
    await drain(req);
    sendError(res, 400, 400, 'unsupported content type');
  }
}

async function uploadFiles({ req, res, state }: AuthedContext, session: FakeSession, contentType: string): Promise<void> {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) {
    state.violation('upload: multipart Content-Type without a boundary');
    await drain(req);
    sendError(res, 400, 400, 'multipart boundary missing');
    return;
  }
  const files: ReceivedFile[] = [];
  const { complete } = await readMultipart(req, boundary, (part) => {
    if (part.name !== 'files') state.violation(`upload: multipart field "${part.name ?? ''}" is not "files"`);
    if (part.filename === undefined) {
      state.violation('upload: multipart part without a filename');
      return { data: () => undefined, end: () => undefined };
    }
    const file: ReceivedFile = {
      filename: part.filename,
      size: 0,
      hash: createHash('sha256'),
      ext: extname(part.filename).slice(1).toLowerCase(),
      head: [],
    };
    files.push(file);
    return {
      data: (chunk) => {
        if (file.size < HEAD_BYTES) file.head.push(chunk.subarray(0, HEAD_BYTES - file.size));
        file.size += chunk.length;
        // Past the limit the answer is 4002 anyway: count, stop hashing.
        if (file.size <= state.maxUploadBytes) file.hash.update(chunk);
      },
      end: () => undefined,
    };
  });
  if (!complete) {
    state.violation('upload: multipart body ended before its closing boundary');
    sendError(res, 400, 400, 'malformed multipart body');
    return;
  }
  if (files.length === 0) {
    state.violation('upload: multipart body carries no file');
    sendError(res, 400, 400, 'no files');
    return;
  }
  const refused = files.find((file) => KINDS[file.ext] === undefined);
  if (refused !== undefined) {
    sendUnsupported(res, refused.filename);
    return;
  }
  if (files.some((file) => file.size > state.maxUploadBytes)) {
    sendError(res, 413, 4002, `file too large: the limit is ${Math.round(state.maxUploadBytes / 1024 / 1024)} MB`);
    return;
  }
  const answers = files.map((file) => {
    const sha256 = file.hash.digest('hex');
    state.uploads.push({ sessionId: session.sessionId, filename: file.filename, size: file.size, sha256, kind: 'file' });
    state.uploadHeads.set(sha256, Buffer.concat(file.head));
    return describe(state.baseUrl, session, file.filename, file.ext, sha256);
  });
  sendOk(res, { files: answers, session_state_applied: true });
}

async function uploadUrls(context: AuthedContext, session: FakeSession): Promise<void> {
  const { req, res, state } = context;
  const body = await readJson(req);
  if (!body.ok) {
    state.violation(`upload: ${body.reason}`);
    sendError(res, 400, 400, body.reason);
    return;
  }
  context.record.body = body.value;
  const parsed = contract(state, 'upload', UrlBody, body.value);
  if (parsed === undefined) {
    sendError(res, 400, 400, 'urls and source_type "url" are required');
    return;
  }
  const named = parsed.urls.map((url) => {
    const filename = decodeURIComponent(new URL(url).pathname.split('/').at(-1) ?? '') || 'link';
    return { url, filename, ext: extname(filename).slice(1).toLowerCase() };
  });
  const refused = named.find((link) => KINDS[link.ext] === undefined);
  if (refused !== undefined) {
    sendUnsupported(res, refused.filename);
    return;
  }
  const answers = named.map((link) => {
    const sha256 = createHash('sha256').update(link.url).digest('hex');
    state.uploads.push({ sessionId: session.sessionId, filename: link.filename, size: 0, sha256, kind: 'url', url: link.url });
    return describe(state.baseUrl, session, link.filename, link.ext, sha256);
  });
  sendOk(res, { files: answers, session_state_applied: true });
}

function sendUnsupported(res: AuthedContext['res'], filename: string): void {
  sendError(res, 200, 4001, `unsupported file type: ${filename}; accepted: ${ACCEPTED_EXTENSIONS.join(', ')}`);
}

/** The upload answer of one file; a video also lands on the session's timeline. */
function describe(baseUrl: string, session: FakeSession, filename: string, ext: string, sha256: string): Record<string, unknown> {
  const kind = KINDS[ext] ?? 'document';
  if (kind === 'video') session.draft = withVideoClip(session.draft, filename, VIDEO_INFO.duration * 1000);
  const info = kind === 'video' ? VIDEO_INFO : kind === 'image' ? { duration: 0, width: 1080, height: 1920, fps: 0 } : { duration: kind === 'audio' ? 30 : 0, width: 0, height: 0, fps: 0 };
  return { filename, file_type: kind, cdn_url: `${baseUrl}/cdn/uploads/${sha256}.${ext}`, ...info, hash: sha256 };
}
