// A worker thread's entry: parses one document and posts the outcome. The pool starts a fresh
// thread per document and terminates it after, so nothing a parse leaves behind outlives it.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { docxText, pdfText, type ParseLimits } from './document-parsers.js';
import { ZipCheckError } from './docx-zip-check.js';

const PARSE_NICENESS = 10;

interface Job {
  kind: 'pdf' | 'docx';
  bytes: Uint8Array;
  limits: ParseLimits;
}

async function run(job: Job): Promise<unknown> {
  try {
    const parsed = job.kind === 'pdf' ? await pdfText(job.bytes, job.limits) : await docxText(Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength), job.limits);
    return { ok: true, ...parsed };
  } catch (error) {
    const code = error instanceof ZipCheckError && error.code === 'zip_bomb' ? 'document_too_complex' : 'document_unreadable';
    return { ok: false, code, reason: error instanceof Error ? error.message.slice(0, 200) : 'unknown' };
  }
}

try {
  // On Linux a nice value is per thread: a parse yields the CPU to the event loop it shares a machine with.
  setPriority(PARSE_NICENESS);
} catch {
  // Not allowed here (some containers): the parse runs at the process's priority.
}
parentPort?.postMessage(await run(workerData as Job));
