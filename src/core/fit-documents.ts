import { cutAt } from './documents.js';

export interface DocumentPart {
  name: string;
  text: string;
}

export interface FittedDocument extends DocumentPart {
  /** Characters dropped to share the message limit with the other documents of the turn. */
  dropped: number;
}

/** How a document is relayed: its name on a line, then its text. */
export const documentBlock = (doc: DocumentPart): string => `[${doc.name}]\n${doc.text}`;

// Blocks are joined to the words and to each other by a blank line.
const SEPARATOR = 2;

/**
 * Cuts the documents of one turn so that their blocks fit in `budget` characters: short ones
 * are kept whole and the rest share what is left equally (ten 12,000-character documents in
 * an album get about a tenth each), so no single one crowds out the others.
 */
export function fitDocuments(docs: readonly DocumentPart[], budget: number): FittedDocument[] {
  const overhead = docs.reduce((sum, doc) => sum + documentBlock({ name: doc.name, text: '' }).length + SEPARATOR, 0);
  let left = Math.max(0, budget - overhead);
  const share = new Map<number, number>();
  const byLength = docs.map((doc, index) => ({ index, length: doc.text.length })).sort((a, b) => a.length - b.length);
  byLength.forEach(({ index, length }, position) => {
    const fair = Math.floor(left / (byLength.length - position));
    const kept = Math.min(length, fair);
    share.set(index, kept);
    left -= kept;
  });
  return docs.map((doc, index) => {
    const kept = share.get(index) ?? 0;
    if (kept >= doc.text.length) return { ...doc, dropped: 0 };
    const text = kept > 0 ? cutAt(doc.text, kept) : '';
    return { name: doc.name, text, dropped: doc.text.length - text.length };
  });
}
