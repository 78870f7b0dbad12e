import { createParser, type EventSourceParser } from 'eventsource-parser';
import { NemoStreamError } from './errors.js';
import { abortErrorOf } from './http.js';
import { createTurnEventMapper, type TurnEventMapper } from './sse-events.js';
import type { TurnEvent } from './types.js';

// Bounds memory if a server sends one endless frame (inline media can be megabytes of base64).
const MAX_FRAME_CHARS = 64 * 1024 * 1024;

export interface TurnStreamOptions {
  /** Only keep-alives this long: the turn is treated as broken. */
  idleTimeoutMs: number;
  /** The caller's signal: its abort ends the iteration with an AbortError. */
  signal?: AbortSignal | undefined;
  /** Tears the connection down: on the idle timeout, or when the consumer stops early. */
  abort(reason: unknown): void;
}

function isActivity(events: readonly TurnEvent[]): boolean {
  // A message that maps to nothing was still agent activity (actions-only event, repeated id).
  return events.length === 0 || events.some((event) => event.type !== 'keepalive');
}

interface Feed {
  parser: EventSourceParser;
  mapper: TurnEventMapper;
  pending: TurnEvent[];
  /** Set when a fed message was agent activity; the reader clears it. */
  active: boolean;
}

function createFeed(): Feed {
  const mapper = createTurnEventMapper();
  const feed: Feed = {
    mapper,
    pending: [],
    active: false,
    parser: createParser({
      maxBufferSize: MAX_FRAME_CHARS,
      onEvent(message) {
        const events = mapper.map(message);
        if (isActivity(events)) feed.active = true;
        feed.pending.push(...events);
      },
      onComment() {
        feed.pending.push(...mapper.comment());
      },
    }),
  };
  return feed;
}

/**
 * The end of a stream that closed cleanly: a last frame without its blank line is
 * dispatched rather than dropped.
 */
function flush(feed: Feed, tail: string): void {
  feed.parser.feed(`${tail}\n\n`);
}

/** SSE text, in arbitrary chunks, to TurnEvents: the pure core of a turn, for tests and fuzzing. */
export function turnEventsFromSse(chunks: Iterable<string>): TurnEvent[] {
  const feed = createFeed();
  for (const chunk of chunks) feed.parser.feed(chunk);
  flush(feed, '');
  return feed.pending;
}

function isBodyTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'UND_ERR_BODY_TIMEOUT';
}

/**
 * Reads a turn's event stream until the server closes it. A cut connection throws
 * `NemoStreamError('nemo_stream_broken')`; keep-alives alone for `idleTimeoutMs` throw
 * `NemoStreamError('nemo_turn_idle_timeout')`; both carry the live preview at that moment.
 */
export async function* readTurnStream(
  body: AsyncIterable<Uint8Array | string>,
  options: TurnStreamOptions,
): AsyncGenerator<TurnEvent, void, undefined> {
  const feed = createFeed();
  const decoder = new TextDecoder();
  let idleFired = false;
  let finished = false;
  let deadline = Date.now() + options.idleTimeoutMs;
  let timer: NodeJS.Timeout | undefined;

  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(
      () => {
        idleFired = true;
        options.abort(new NemoStreamError('nemo_turn_idle_timeout', feed.mapper.partialText));
      },
      Math.max(0, deadline - Date.now()),
    );
  };

  async function* drain(): AsyncGenerator<TurnEvent, void, undefined> {
    if (feed.active) {
      feed.active = false;
      deadline = Date.now() + options.idleTimeoutMs;
    }
    while (feed.pending.length > 0) {
      const event = feed.pending.shift() as TurnEvent;
      // Time the consumer spends on an event is not the server's silence: the clock stops meanwhile.
      clearTimeout(timer);
      const handedOut = Date.now();
      yield event;
      options.signal?.throwIfAborted();
      deadline += Date.now() - handedOut;
    }
    arm();
  }

  try {
    arm();
    for await (const chunk of body) {
      feed.parser.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
      yield* drain();
    }
    flush(feed, decoder.decode());
    yield* drain();
    finished = true;
  } catch (error) {
    if (options.signal?.aborted) throw abortErrorOf(options.signal);
    if (error instanceof NemoStreamError) throw error;
    if (idleFired || isBodyTimeout(error)) {
      throw new NemoStreamError('nemo_turn_idle_timeout', feed.mapper.partialText, error);
    }
    throw new NemoStreamError('nemo_stream_broken', feed.mapper.partialText, error);
  } finally {
    clearTimeout(timer);
    // The consumer stopped early or something failed: free the connection.
    if (!finished) options.abort(new DOMException('The turn stream was closed early', 'AbortError'));
  }
}
