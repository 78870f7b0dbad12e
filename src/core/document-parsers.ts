import mammoth from 'mammoth';
import { getDocumentProxy } from 'unpdf';
import { checkZip, type ZipLimits } from './docx-zip-check.js';

/** What a parser hands back: raw text (normalized later) and whether there was more. */
export interface ParsedText {
  raw: string;
  /** Reading stopped before the end: at the text budget or at the page cap. */
  truncated: boolean;
  /** Set when the page cap stopped the reading: how many pages were read. */
  pagesRead?: number | undefined;
}

export interface ParseLimits {
  /** Raw characters to read at most (normalizing shrinks text, so a little over the kept length). */
  maxRawChars: number;
  maxPdfPages: number;
  zip: ZipLimits;
}

/**
 * The text of a PDF, page by page, stopping at the page cap or once `maxRawChars` are in:
 * unpdf's `extractText` reads every page at once, which is what lets a PDF of a thousand
 * pages sharing one heavy content stream take minutes and gigabytes.
 */
export async function pdfText(bytes: Uint8Array, limits: ParseLimits): Promise<ParsedText> {
  const pdf = await getDocumentProxy(bytes, { verbosity: 0, disableFontFace: true, stopAtErrors: false });
  try {
    const pages = Math.min(pdf.numPages, limits.maxPdfPages);
    let raw = '';
    for (let number = 1; number <= pages; number++) {
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) if ('str' in item) text += item.str + (item.hasEOL ? '\n' : '');
      page.cleanup();
      raw += (number > 1 ? '\n' : '') + text;
      if (raw.length >= limits.maxRawChars) return { raw: raw.slice(0, limits.maxRawChars), truncated: true };
    }
    const capped = pdf.numPages > pages;
    return { raw, truncated: capped, pagesRead: capped ? pages : undefined };
  } finally {
    await pdf.loadingTask.destroy().catch(() => undefined);
  }
}

/** The text of a .docx, after `checkZip` has proved it inflates to a sane size. */
export async function docxText(bytes: Buffer, limits: ParseLimits): Promise<ParsedText> {
  await checkZip(bytes, limits.zip);
  const result = await mammoth.extractRawText({ buffer: bytes });
  const raw = result.value;
  return raw.length > limits.maxRawChars ? { raw: raw.slice(0, limits.maxRawChars), truncated: true } : { raw, truncated: false };
}
