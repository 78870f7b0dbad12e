import { Readable } from 'node:stream';
import JSZip from 'jszip';
import { describe, expect, it } from 'vitest';
import { DOCUMENT_MAX_BYTES, DocumentError, documentKind, isDocument, readDocumentText } from '../../src/core/documents.js';
import type { Attachment } from '../../src/core/types.js';

function attachment(name: string, bytes: Buffer, mimeType = 'application/octet-stream'): Attachment {
  return { name, mimeType, size: bytes.length, open: async () => Readable.from([bytes]) };
}

async function docx(paragraphs: string[]): Promise<Buffer> {
  const zip = new JSZip();
  zip.file(
    '[Content_Types].xml',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
      '<Default Extension="xml" ContentType="application/xml"/>' +
      '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
      '</Types>',
  );
  zip.file(
    '_rels/.rels',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
      '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>' +
      '</Relationships>',
  );
  const body = paragraphs.map((p) => `<w:p><w:r><w:t xml:space="preserve">${p}</w:t></w:r></w:p>`).join('');
  zip.file(
    'word/document.xml',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
      `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`,
  );
  return zip.generateAsync({ type: 'nodebuffer' });
}

/** A one-page PDF 1.4 in Helvetica, one text line per entry, with a byte-exact xref table. */
function pdf(lines: string[]): Buffer {
  const content = ['BT', '/F1 18 Tf', '72 720 Td', '22 TL', ...lines.map((line) => `(${line}) Tj T*`), 'ET'].join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(Buffer.byteLength(out));
    out += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

async function documentError(promise: Promise<unknown>): Promise<DocumentError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DocumentError);
  return error as DocumentError;
}

describe('documentKind', () => {
  it.each([
    ['notes.txt', 'application/octet-stream', 'txt'],
    ['README.MD', '', 'md'],
    ['brief.docx', 'application/octet-stream', 'docx'],
    ['script.pdf', '', 'pdf'],
    ['untitled', 'application/pdf', 'pdf'],
    ['untitled', 'text/plain; charset=utf-8', 'txt'],
  ])('when the file is %s (%s), then it is a %s document', (name, mimeType, kind) => {
    expect(documentKind({ name, mimeType })).toBe(kind);
    expect(isDocument({ name, mimeType })).toBe(true);
  });

  it.each([
    ['clip.mp4', 'video/mp4'],
    ['old.doc', 'application/msword'],
    ['photo.png', 'image/png'],
  ])('when the file is %s, then it is not a document', (name, mimeType) => {
    expect(isDocument({ name, mimeType })).toBe(false);
  });
});

describe('readDocumentText', () => {
  it('when a text file has messy whitespace and control characters, then the text comes out normalized', async () => {
    const bytes = Buffer.from('\ufeffTitle:\t\tMy   trip\r\n\r\n\r\n\r\nDay one\u0007 at the\u00a0beach \n', 'utf8');
    expect(await readDocumentText(attachment('notes.txt', bytes), 1000)).toEqual({
      text: 'Title: My trip\n\nDay one at the beach',
      truncated: false,
    });
  });

  it('when a markdown file is in Chinese, then the UTF-8 text is read intact', async () => {
    const bytes = Buffer.from('# 旅行视频\n\n海边的日落，配上轻音乐。', 'utf8');
    expect(await readDocumentText(attachment('plan.md', bytes), 1000)).toEqual({ text: '# 旅行视频\n\n海边的日落，配上轻音乐。', truncated: false });
  });

  it('when a text file is longer than the limit, then the text is cut and marked truncated', async () => {
    const bytes = Buffer.from('word '.repeat(100), 'utf8');
    const result = await readDocumentText(attachment('long.txt', bytes), 23);
    expect(result).toEqual({ text: 'word word word word wor', truncated: true });
  });

  it('when a text file is far longer than the limit, then reading stops near the byte cap', async () => {
    let chunksRead = 0;
    const chunk = Buffer.alloc(1024, 'a');
    async function* endless() {
      for (let i = 0; i < 10_000; i++) {
        chunksRead++;
        yield chunk;
      }
    }
    const file: Attachment = { name: 'huge.txt', mimeType: 'text/plain', size: 1024 * 10_000, open: async () => Readable.from(endless()) };
    const result = await readDocumentText(file, 1000);
    expect(result.truncated).toBe(true);
    expect(result.text).toHaveLength(1000);
    // 1000 chars × 4 bytes = 4 KiB: a handful of 1 KiB chunks, not all ten thousand.
    expect(chunksRead).toBeLessThan(10);
  });

  it('when a .docx is given, then its paragraphs come out as text', async () => {
    const bytes = await docx(['A short film about the sea.', 'Use calm music &amp; slow cuts.']);
    expect(await readDocumentText(attachment('brief.docx', bytes), 1000)).toEqual({
      text: 'A short film about the sea.\n\nUse calm music & slow cuts.',
      truncated: false,
    });
  });

  it('when a .docx is longer than the limit, then it is truncated', async () => {
    const bytes = await docx(['x'.repeat(500)]);
    expect(await readDocumentText(attachment('brief.docx', bytes), 100)).toEqual({ text: 'x'.repeat(100), truncated: true });
  });

  it('when a .pdf is given, then its text comes out', async () => {
    const result = await readDocumentText(attachment('script.pdf', pdf(['Hello from a PDF', 'Second line here'])), 1000);
    expect(result).toEqual({ text: 'Hello from a PDF\nSecond line here', truncated: false });
  });

  it('when a .docx is corrupted, then a DocumentError says it is unreadable', async () => {
    const error = await documentError(readDocumentText(attachment('broken.docx', Buffer.from('PK\u0003\u0004 not really a zip')), 1000));
    expect(error.code).toBe('document_unreadable');
    expect(error.message).toContain('broken.docx');
  });

  it('when a .pdf is corrupted, then a DocumentError says it is unreadable', async () => {
    const error = await documentError(readDocumentText(attachment('broken.pdf', Buffer.from('%PDF-1.4 garbage')), 1000));
    expect(error.code).toBe('document_unreadable');
  });

  it('when the announced size is over 10 MB, then it is refused before opening', async () => {
    let opened = false;
    const file: Attachment = {
      name: 'big.pdf',
      mimeType: 'application/pdf',
      size: DOCUMENT_MAX_BYTES + 1,
      open: async () => {
        opened = true;
        return Readable.from([]);
      },
    };
    const error = await documentError(readDocumentText(file, 1000));
    expect(error.code).toBe('document_too_large');
    expect(opened).toBe(false);
  });

  it('when the stream turns out larger than 10 MB, then it is refused while reading', async () => {
    const chunk = Buffer.alloc(1024 * 1024);
    const file: Attachment = { name: 'liar.docx', mimeType: '', size: 100, open: async () => Readable.from(Array.from({ length: 11 }, () => chunk)) };
    const error = await documentError(readDocumentText(file, 1000));
    expect(error.code).toBe('document_too_large');
  });
});
