import yauzl, { type Entry, type ZipFile } from 'yauzl';

export interface ZipLimits {
  /** The most all entries may inflate to, together. */
  maxUnzippedBytes: number;
  /** The most one large entry may inflate per compressed byte (Word's XML is about 10:1). */
  maxCompressionRatio: number;
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxUnzippedBytes: 50 * 1024 * 1024,
  maxCompressionRatio: 100,
  maxEntries: 5_000,
};

// Small entries may compress very well (a blank style sheet); only large ones can hurt.
const RATIO_CHECKED_FROM_BYTES = 1024 * 1024;

/** Why a .docx is refused before it is parsed: `bomb` (too big once unzipped) or `broken` (not a zip). */
export class ZipCheckError extends Error {
  constructor(
    readonly code: 'zip_bomb' | 'zip_broken',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ZipCheckError';
  }
}

/**
 * Refuses a zip whose central directory declares more than the limits, then inflates every
 * entry into nothing, counting: yauzl stops an entry that inflates past its declared size, so
 * a directory that lies cannot smuggle a bomb past the first check.
 */
export async function checkZip(bytes: Buffer, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<void> {
  let zip: ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false });
  } catch (error) {
    throw new ZipCheckError('zip_broken', 'not a zip file', { cause: error });
  }
  try {
    if (zip.entryCount > limits.maxEntries) throw new ZipCheckError('zip_bomb', `${zip.entryCount} entries`);
    const entries = await readEntries(zip);
    let declared = 0;
    for (const entry of entries) {
      declared += entry.uncompressedSize;
      if (declared > limits.maxUnzippedBytes) throw new ZipCheckError('zip_bomb', `declares more than ${limits.maxUnzippedBytes} bytes unzipped`);
      if (entry.uncompressedSize >= RATIO_CHECKED_FROM_BYTES && entry.uncompressedSize > limits.maxCompressionRatio * Math.max(1, entry.compressedSize)) {
        throw new ZipCheckError('zip_bomb', `an entry compressed more than ${limits.maxCompressionRatio}:1`);
      }
    }
    for (const entry of entries) await drain(zip, entry);
  } finally {
    zip.close();
  }
}

function readEntries(zip: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', (error: unknown) => reject(new ZipCheckError('zip_broken', 'unreadable central directory', { cause: error })));
    zip.readEntry();
  });
}

async function drain(zip: ZipFile, entry: Entry): Promise<void> {
  if (entry.fileName.endsWith('/')) return;
  let stream;
  try {
    stream = await zip.openReadStreamPromise(entry);
  } catch (error) {
    throw new ZipCheckError('zip_broken', `entry ${entry.fileName} cannot be read`, { cause: error });
  }
  try {
    // yauzl errors the stream once an entry inflates past its declared size.
    for await (const chunk of stream) void chunk;
  } catch (error) {
    const tooBig = /too many bytes/i.test((error as Error).message);
    throw new ZipCheckError(tooBig ? 'zip_bomb' : 'zip_broken', `entry ${entry.fileName} does not inflate as declared`, { cause: error });
  }
}
