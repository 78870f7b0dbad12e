import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RenderRecord, RenderScript } from './types.js';

export const FIXTURE_MP4_PATH = new URL('../../fixtures/sample.mp4', import.meta.url);
export const FIXTURE_MP4: Buffer = readFileSync(FIXTURE_MP4_PATH);

const CHUNK = 64 * 1024;

export interface PollView {
  status: 'pending' | 'processing' | 'completed' | 'failed';
  progress: number;
  error?: string;
}

/** Where the render stands after `record.polls` polls: pending, then rising progress, then done. */
export function pollView(record: RenderRecord): PollView {
  if (record.cancelled) return { status: 'failed', progress: 0, error: 'render cancelled' };
  if (record.script.holdAtPercent !== undefined) return { status: 'processing', progress: record.script.holdAtPercent };
  const total = Math.max(1, record.script.pollsUntilComplete ?? 2);
  const polls = record.polls;
  if (polls >= total) {
    return record.script.fail !== undefined
      ? { status: 'failed', progress: 100, error: record.script.fail }
      : { status: 'completed', progress: 100 };
  }
  if (polls <= 1 && total > 2) return { status: 'pending', progress: 5 };
  return { status: 'processing', progress: Math.round(5 + (90 * polls) / total) };
}

/** The poll answer in one of the three shapes docs/nemo-api.md lists (Export, step 3). */
export function pollAnswer(record: RenderRecord, view: PollView, outputUrl: string): unknown {
  const done = view.status === 'completed';
  const shape = record.script.shape ?? 1;
  if (shape === 1) {
    return {
      status: view.status,
      progress: view.progress,
      ...(done ? { output: { url: outputUrl } } : {}),
      ...(view.error !== undefined ? { error: view.error } : {}),
    };
  }
  if (shape === 2) {
    // This shape is a plain API record: unset fields come as null, not left out.
    return {
      success: true,
      data: {
        id: record.id,
        status: view.status,
        progress: view.progress,
        outputUrl: done ? outputUrl : null,
        createdAt: record.createdAt,
        completedAt: done || view.status === 'failed' ? (record.completedAt ?? null) : null,
        ...(view.error !== undefined ? { error: view.error } : {}),
      },
    };
  }
  return {
    taskId: record.id,
    status: view.status,
    progress: view.progress,
    ...(done ? { output: { url: outputUrl, duration: 2, size: outputSize(record.script) } } : {}),
    ...(view.error !== undefined ? { error: view.error } : {}),
  };
}

export function outputSize(script: RenderScript): number {
  if (script.outputFile !== undefined) return statSync(script.outputFile).size;
  return script.outputSize ?? script.outputBytes?.length ?? FIXTURE_MP4.length;
}

/** Deterministic filler for large outputs: byte i is a function of i alone. */
export function syntheticChunk(offset: number, length: number): Buffer {
  const chunk = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i += 1) chunk[i] = ((offset + i) * 31 + 7) & 0xff;
  return chunk;
}

function* syntheticBytes(size: number): Generator<Buffer> {
  for (let offset = 0; offset < size; offset += CHUNK) yield syntheticChunk(offset, Math.min(CHUNK, size - offset));
}

export function outputSha256(script: RenderScript): string {
  const hash = createHash('sha256');
  if (script.outputFile !== undefined) hash.update(readFileSync(script.outputFile));
  else if (script.outputSize !== undefined) for (const chunk of syntheticBytes(script.outputSize)) hash.update(chunk);
  else hash.update(script.outputBytes ?? FIXTURE_MP4);
  return hash.digest('hex');
}

export async function sendOutput(res: ServerResponse, script: RenderScript, headOnly: boolean): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': String(outputSize(script)) });
  if (headOnly) {
    res.end();
    return;
  }
  if (script.outputFile !== undefined) {
    await pipeline(createReadStream(script.outputFile), res).catch(() => undefined);
    return;
  }
  if (script.outputSize === undefined) {
    res.end(script.outputBytes ?? FIXTURE_MP4);
    return;
  }
  // A client that stops reading mid-download is a legitimate test case, not a fake failure.
  await pipeline(Readable.from(syntheticBytes(script.outputSize)), res).catch(() => undefined);
}
