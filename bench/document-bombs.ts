import { Readable } from 'node:stream';
import { extractText, getDocumentProxy } from 'unpdf';
import { DEFAULT_DOCUMENT_POOL_LIMITS, DocumentPool } from '../src/core/document-pool.js';
import { DocumentError, readDocumentText } from '../src/core/documents.js';
import type { Attachment } from '../src/core/types.js';
import { docxBomb, pdfBomb } from '../test/helpers/document-bombs.js';
import { watchMainThread, type MainThreadReading } from '../test/helpers/main-thread-watch.js';
import type { BenchPlan } from './lib/plan.js';
import { valueBelow, withTargets, type BenchResult, type Figure } from './lib/report.js';

export const BENCHMARK = 'document bombs';

/** Issue 11: while a bomb is parsed, event-loop lag p99 under 100 ms and RSS growth under 300 MB. */
export const LAG_P99_TARGET_MS = 100;
export const RSS_GROWTH_TARGET_BYTES = 300 * 1024 * 1024;
const MAX_CHARS = 12_000;

function attachment(name: string, bytes: Buffer): Attachment {
  return { name, mimeType: 'application/octet-stream', size: bytes.length, open: async () => Readable.from([bytes]) };
}

function outcomeOf(reading: MainThreadReading<{ truncated: boolean; pagesRead?: number | undefined }>): string {
  if (reading.outcome.ok) {
    const doc = reading.outcome.value;
    return doc.pagesRead === undefined ? (doc.truncated ? 'read, cut at the text limit' : 'read whole') : `read up to the page cap (${doc.pagesRead} pages)`;
  }
  const error = reading.outcome.error;
  return error instanceof DocumentError ? `refused (${error.code})` : `failed (${String(error)})`;
}

/**
 * What hostile documents cost the process that serves every chat: each bomb is parsed by the
 * document pool (worker threads) while the event loop's lag and the process's RSS are watched;
 * a few pages of the PDF are also parsed on the event loop, as they were before, to show the stall.
 */
export async function benchDocumentBombs(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  const { pdfPages, maxPdfPages, docxXmlMb, inThreadPages } = plan.documents;
  const pool = new DocumentPool({ ...DEFAULT_DOCUMENT_POOL_LIMITS, maxPdfPages });
  const pdf = pdfBomb(pdfPages);
  const docx = docxBomb(docxXmlMb);

  const pdfReading = await watchMainThread(() => readDocumentText(attachment('bomb.pdf', pdf), MAX_CHARS, pool));
  const docxReading = await watchMainThread(() => readDocumentText(attachment('bomb.docx', docx), MAX_CHARS, pool));
  // The old way, on a slice of the same bomb: unpdf's extractText on the event loop.
  const slice = pdfBomb(inThreadPages);
  const inThread = await watchMainThread(async () => {
    const proxy = await getDocumentProxy(new Uint8Array(slice), { verbosity: 0 });
    try {
      return await extractText(proxy, { mergePages: true });
    } finally {
      await proxy.loadingTask.destroy();
    }
  });

  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  const figures: Figure[] = [];
  for (const [label, reading] of [
    [`${pdfPages}-page PDF (${kib(pdf.length)})`, pdfReading],
    [`.docx of ${docxXmlMb} MB XML (${kib(docx.length)})`, docxReading],
  ] as const) {
    figures.push(
      { benchmark: BENCHMARK, name: `${label}: parse time`, value: reading.durationMs, unit: 'ms' },
      withTargets({ benchmark: BENCHMARK, name: `${label}: event-loop lag p99`, value: reading.lagP99Ms, unit: 'ms' }, valueBelow(LAG_P99_TARGET_MS)),
      withTargets({ benchmark: BENCHMARK, name: `${label}: RSS growth`, value: Math.max(0, reading.rssGrowthBytes), unit: 'B' }, valueBelow(RSS_GROWTH_TARGET_BYTES)),
    );
  }
  figures.push({ benchmark: BENCHMARK, name: `before: ${inThreadPages} pages on the event loop, longest stall`, value: inThread.lagMaxMs, unit: 'ms' });

  const notes = [
    `document bombs: the ${pdfPages}-page PDF was ${outcomeOf(pdfReading)} (pool cap ${maxPdfPages} pages, ${DEFAULT_DOCUMENT_POOL_LIMITS.timeoutMs / 1000} s, ${DEFAULT_DOCUMENT_POOL_LIMITS.maxHeapMb} MB heap); ` +
      `the .docx was ${outcomeOf(docxReading)}; on the event loop, ${inThreadPages} pages of the PDF stalled it for ${inThread.lagMaxMs.toFixed(0)} ms ` +
      `(${(inThread.durationMs / inThreadPages).toFixed(0)} ms a page). Lag figures include the 10 ms sampling period.`,
  ];
  return {
    benchmark: BENCHMARK,
    figures,
    details: {
      pdf: { bytes: pdf.length, pages: pdfPages, outcome: outcomeOf(pdfReading), durationMs: pdfReading.durationMs, lagP99Ms: pdfReading.lagP99Ms, lagMaxMs: pdfReading.lagMaxMs, rssGrowthBytes: pdfReading.rssGrowthBytes },
      docx: { bytes: docx.length, xmlMb: docxXmlMb, outcome: outcomeOf(docxReading), durationMs: docxReading.durationMs, lagP99Ms: docxReading.lagP99Ms, lagMaxMs: docxReading.lagMaxMs, rssGrowthBytes: docxReading.rssGrowthBytes },
      inThread: { pages: inThreadPages, durationMs: inThread.durationMs, lagMaxMs: inThread.lagMaxMs },
    },
    notes,
    durationMs: Date.now() - started,
  };
}
