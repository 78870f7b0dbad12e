import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorFrame } from './adk-events.js';
import type { DraftUpdate, Frame, KeepAliveStyle, TurnScript } from './types.js';

const KEEP_ALIVE: Record<KeepAliveStyle, string> = {
  comment: ': keep-alive\n\n',
  empty: 'data: \n\n',
  'heartbeat-json': 'data: {"type":"heartbeat"}\n\n',
  'heartbeat-event': 'event: heartbeat\ndata: {}\n\n',
};

export interface PlayContext {
  /** Applies a draft update to the turn's session. */
  applyDraft(update: DraftUpdate): void;
  /** Aborted when the fake closes: stops every wait. */
  shutdown: AbortSignal;
  defaultKeepAliveMs: number;
  /** The client closed the stream before the server ended it (it may cancel the agent's work). */
  onClientAbort?: () => void;
}

/**
 * Plays a turn onto an SSE response. Like the real agent, the work goes on when the client
 * leaves: later frames are dropped but delays, waits and the draft update still happen.
 */
export async function playTurn(res: ServerResponse, script: TurnScript, context: PlayContext): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  const clientGone = new AbortController();
  let serverEnding = false;
  res.once('close', () => {
    clientGone.abort();
    if (!serverEnding && !context.shutdown.aborted) context.onClientAbort?.();
  });
  let flushed: Promise<void> = Promise.resolve();
  const write = (text: string): void => {
    if (res.destroyed || res.writableEnded) return;
    flushed = new Promise((resolve) => res.write(text, () => resolve()));
  };
  let draftApplied = false;

  try {
    for (const frame of script.frames) {
      if (context.shutdown.aborted) return;
      await playFrame(frame);
    }
  } catch (error) {
    if (context.shutdown.aborted) return;
    throw error;
  }
  if (!draftApplied && script.draftAfter !== undefined) context.applyDraft(script.draftAfter);

  serverEnding = script.end !== 'stall';
  switch (script.end ?? 'close') {
    case 'close':
      res.end();
      return;
    case 'destroy':
      // The frames already written must reach the client before the cut, or the test proves nothing.
      await Promise.race([flushed, new Promise((resolve) => clientGone.signal.addEventListener('abort', resolve, { once: true }))]);
      // A cut socket, not a clean chunked end: the client must see an error, not a finished turn.
      res.socket?.destroy();
      res.destroy();
      return;
    case 'stall': {
      const period = script.keepAliveMs ?? context.defaultKeepAliveMs;
      const stop = AbortSignal.any([clientGone.signal, context.shutdown]);
      while (!stop.aborted) {
        write(KEEP_ALIVE.comment);
        await sleep(period, undefined, { signal: stop }).catch(() => undefined);
      }
      res.destroy();
      return;
    }
  }

  async function playFrame(frame: Frame): Promise<void> {
    switch (frame.kind) {
      case 'event':
        write(`data: ${JSON.stringify(frame.event)}\n\n`);
        return;
      case 'keepalive':
        write(KEEP_ALIVE[frame.style]);
        return;
      case 'raw':
        write(frame.text);
        return;
      case 'error':
        write(`data: ${JSON.stringify(errorFrame(frame.message, frame.details === true))}\n\n`);
        return;
      case 'delay':
        await sleep(frame.ms, undefined, { signal: context.shutdown });
        return;
      case 'wait':
        await raceShutdown(frame.until, context.shutdown);
        return;
      case 'apply-draft':
        if (frame.draft !== undefined) {
          context.applyDraft(frame.draft);
        } else if (script.draftAfter !== undefined) {
          context.applyDraft(script.draftAfter);
          draftApplied = true;
        }
        return;
    }
  }
}

function raceShutdown(promise: Promise<void>, shutdown: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(shutdown.reason);
    if (shutdown.aborted) return onAbort();
    shutdown.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        shutdown.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        shutdown.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
