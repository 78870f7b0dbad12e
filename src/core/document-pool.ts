import type { Worker } from 'node:worker_threads';
import { spawnThread } from '../lib/spawn-thread.js';
import { z } from 'zod';
import type { ParsedText } from './document-parsers.js';
import { DEFAULT_ZIP_LIMITS, type ZipLimits } from './docx-zip-check.js';
import { DocumentError } from './document-error.js';

export interface DocumentPoolLimits {
  /** A parse running longer is stopped (its thread terminated) and refused. */
  timeoutMs: number;
  /** The parsing thread's V8 heap; past it the thread dies and the document is refused. */
  maxHeapMb: number;
  maxPdfPages: number;
  /** Parses at once in this process; more wait in a queue of `maxQueued`, beyond it are refused. */
  concurrency: number;
  maxQueued: number;
  zip: ZipLimits;
}

export const DEFAULT_DOCUMENT_POOL_LIMITS: DocumentPoolLimits = {
  timeoutMs: 15_000,
  maxHeapMb: 160,
  maxPdfPages: 50,
  concurrency: 2,
  maxQueued: 20,
  zip: DEFAULT_ZIP_LIMITS,
};

/** Reads the text of a .pdf or .docx somewhere other than the event loop. */
export interface DocumentParser {
  parse(kind: 'pdf' | 'docx', bytes: Buffer, maxRawChars: number): Promise<ParsedText>;
  /** Ends the parses in progress (at shutdown). */
  close?(): Promise<void>;
}

const Outcome = z.union([
  z.object({ ok: z.literal(true), raw: z.string(), truncated: z.boolean(), pagesRead: z.number().int().optional() }),
  z.object({ ok: z.literal(false), code: z.enum(['document_too_complex', 'document_unreadable']), reason: z.string() }),
]);


/**
 * Parses documents in worker threads, one fresh thread per document: a hostile PDF or .docx
 * spends a thread's time and bounded heap, never the event loop that serves everyone else.
 */
export class DocumentPool implements DocumentParser {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly threads = new Set<Worker>();
  private closed = false;

  constructor(readonly limits: DocumentPoolLimits = DEFAULT_DOCUMENT_POOL_LIMITS) {}

  /** Parses running and waiting now. */
  get load(): { active: number; queued: number } {
    return { active: this.running, queued: this.waiting.length };
  }

  async parse(kind: 'pdf' | 'docx', bytes: Buffer, maxRawChars: number): Promise<ParsedText> {
    await this.acquire();
    try {
      return await this.inThread(kind, bytes, maxRawChars);
    } finally {
      this.release();
    }
  }

  /** Stops every parse (each is refused as busy: the process is going away) and takes no more. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.threads].map((thread) => thread.terminate().catch(() => undefined)));
  }

  private acquire(): Promise<void> {
    if (this.closed) return Promise.reject(new DocumentError('document_busy', 'the process is stopping'));
    if (this.running < this.limits.concurrency) {
      this.running += 1;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.limits.maxQueued) {
      return Promise.reject(new DocumentError('document_busy', `${this.limits.maxQueued} documents are already waiting`));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The slot goes straight to the next in line, so `running` never dips while some wait. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running -= 1;
  }

  private inThread(kind: 'pdf' | 'docx', bytes: Buffer, maxRawChars: number): Promise<ParsedText> {
    if (this.closed) return Promise.reject(new DocumentError('document_busy', 'the process is stopping'));
    // A copy the thread owns: a Buffer may be a slice of a shared pool, which cannot be transferred.
    const own = new Uint8Array(bytes);
    const job = { kind, bytes: own, limits: { maxRawChars, maxPdfPages: this.limits.maxPdfPages, zip: this.limits.zip } };
    return new Promise<ParsedText>((resolve, reject) => {
      const worker = spawn(job, own.buffer, {
        maxOldGenerationSizeMb: this.limits.maxHeapMb,
        maxYoungGenerationSizeMb: 16,
        stackSizeMb: 4,
      });
      this.threads.add(worker);
      let settled = false;
      const finish = (outcome: ParsedText | DocumentError) => {
        if (settled) return;
        settled = true;
        this.threads.delete(worker);
        clearTimeout(timer);
        void worker.terminate().catch(() => undefined);
        if (outcome instanceof DocumentError) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(() => finish(new DocumentError('document_too_complex', `parsing took longer than ${this.limits.timeoutMs} ms`)), this.limits.timeoutMs);
      worker.once('message', (message: unknown) => {
        const outcome = Outcome.safeParse(message);
        if (!outcome.success) return finish(new DocumentError('document_unreadable', 'the parser answered something unexpected'));
        if (!outcome.data.ok) return finish(new DocumentError(outcome.data.code, outcome.data.reason));
        finish({ raw: outcome.data.raw, truncated: outcome.data.truncated, pagesRead: outcome.data.pagesRead });
      });
      worker.once('error', (error: Error & { code?: string }) => {
        finish(
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new DocumentError('document_too_complex', 'parsing ran out of its memory', { cause: error })
            : new DocumentError('document_unreadable', 'the parser failed', { cause: error }),
        );
      });
      worker.once('exit', () =>
        finish(this.closed ? new DocumentError('document_busy', 'the process is stopping') : new DocumentError('document_unreadable', 'the parser stopped without an answer')),
      );
    });
  }
}

function spawn(job: unknown, transfer: ArrayBuffer, resourceLimits: NonNullable<ConstructorParameters<typeof Worker>[1]>['resourceLimits']): Worker {
  return spawnThread(import.meta.url, 'document-worker', { workerData: job, transferList: [transfer], ...(resourceLimits ? { resourceLimits } : {}) });
}
