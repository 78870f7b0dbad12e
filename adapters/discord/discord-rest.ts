import { STATUS_CODES } from 'node:http';
import { DefaultRestOptions, REST, type RESTOptions, type ResponseLike } from 'discord.js';
import { request } from 'undici';
import { UploadNotRepeatableError } from './discord-errors.js';
import { UploadBody } from './multipart-upload.js';

export interface DiscordRestOptions {
  token: string;
  /** `https://discord.com/api`, or a test server's. */
  apiUrl: string;
  /** Per request; uploads get a REST of their own with a longer one. */
  timeoutMs?: number;
  /** Repeats after a 5xx or a network error (discord.js's default: 3). */
  retries?: number;
}

// Enough of a refusal to explain it in a log line.
const MAX_ANSWER_CHARS = 500;

type RequestInit = Parameters<RESTOptions['makeRequest']>[1];

/**
 * discord.js's REST (rate-limit buckets, 429 waits, typed errors) with one change to its
 * transport: an `UploadBody` is streamed as it is, where discord.js would buffer the whole file.
 */
export function createDiscordRest(options: DiscordRestOptions): REST {
  return new REST({
    api: options.apiUrl,
    timeout: options.timeoutMs ?? 15_000,
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    makeRequest: streamingTransport,
  }).setToken(options.token);
}

async function streamingTransport(url: string, init: RequestInit): Promise<ResponseLike> {
  const body: unknown = init.body;
  if (!(body instanceof UploadBody)) return DefaultRestOptions.makeRequest(url, init);
  // discord.js repeats a request after a 429 or a 5xx; a stream can only be sent once.
  if (body.used) throw new UploadNotRepeatableError();
  body.used = true;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[name] = value;
  headers['content-type'] = body.contentType;
  headers['content-length'] = String(body.length);
  const res = await request(url, {
    method: (init.method ?? 'POST') as 'POST',
    headers,
    body: await body.open(),
    ...(init.signal ? { signal: init.signal as AbortSignal } : {}),
  });
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const item of value) responseHeaders.append(name, item);
    else if (value !== undefined) responseHeaders.set(name, value);
  }
  const common = {
    headers: responseHeaders,
    status: res.statusCode,
    statusText: STATUS_CODES[res.statusCode] ?? '',
    ok: res.statusCode >= 200 && res.statusCode < 300,
  };
  if (res.statusCode >= 400) {
    // discord.js keeps only the status of a 5xx: the server's own words are kept for the error.
    const text = await res.body.text();
    body.answer = text.slice(0, MAX_ANSWER_CHARS);
    return bufferedResponse(text, common);
  }
  return {
    ...common,
    body: res.body as unknown as ResponseLike['body'],
    arrayBuffer: () => res.body.arrayBuffer(),
    json: () => res.body.json(),
    text: () => res.body.text(),
    get bodyUsed() {
      return res.body.bodyUsed;
    },
  };
}

function bufferedResponse(text: string, common: Pick<ResponseLike, 'headers' | 'status' | 'statusText' | 'ok'>): ResponseLike {
  const bytes = Buffer.from(text, 'utf8');
  return {
    ...common,
    body: null,
    arrayBuffer: () => Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
    json: () => Promise.resolve(JSON.parse(text) as unknown),
    text: () => Promise.resolve(text),
    bodyUsed: false,
  };
}
