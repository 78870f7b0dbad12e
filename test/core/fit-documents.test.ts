import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { documentBlock, fitDocuments } from '../../src/core/fit-documents.js';

const blocksLength = (docs: { name: string; text: string }[]) => docs.reduce((sum, doc) => sum + documentBlock(doc).length + 2, 0);

describe('fitDocuments', () => {
  it('when ten 12,000-character documents share a 10,000-character message, then each keeps an equal share and all fit', () => {
    const docs = Array.from({ length: 10 }, (_, i) => ({ name: `part-${i}.txt`, text: String(i).repeat(12_000) }));
    const fitted = fitDocuments(docs, 10_000);
    expect(blocksLength(fitted)).toBeLessThanOrEqual(10_000);
    const lengths = fitted.map((doc) => doc.text.length);
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(1);
    expect(lengths[0]).toBeGreaterThan(950);
    fitted.forEach((doc, i) => {
      expect(doc.name).toBe(`part-${i}.txt`);
      expect(doc.dropped).toBe(12_000 - doc.text.length);
      expect(doc.text).toBe(String(i).repeat(doc.text.length));
    });
  });

  it('when short documents come with a long one, then the short ones stay whole and the long one takes what is left', () => {
    const docs = [
      { name: 'long.md', text: 'x'.repeat(20_000) },
      { name: 'a.txt', text: 'short a' },
      { name: 'b.txt', text: 'short b' },
    ];
    const fitted = fitDocuments(docs, 1_000);
    expect(fitted[1]).toEqual({ name: 'a.txt', text: 'short a', dropped: 0 });
    expect(fitted[2]).toEqual({ name: 'b.txt', text: 'short b', dropped: 0 });
    expect(blocksLength(fitted)).toBeLessThanOrEqual(1_000);
    expect(fitted[0]?.text.length).toBeGreaterThan(900);
  });

  it('when everything fits, then nothing changes', () => {
    const docs = [{ name: 'a.txt', text: 'hello' }];
    expect(fitDocuments(docs, 10_000)).toEqual([{ name: 'a.txt', text: 'hello', dropped: 0 }]);
  });

  it('when a cut would split a surrogate pair, then the pair is kept out whole', () => {
    const [doc] = fitDocuments([{ name: 'e.txt', text: '😀'.repeat(100) }], documentBlock({ name: 'e.txt', text: '' }).length + 2 + 5);
    expect(doc?.text).toBe('😀😀');
  });

  it('whatever the documents and budget, the blocks fit the budget (or are all empty when even the names do not)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: fc.string({ maxLength: 30 }), text: fc.string({ maxLength: 3_000 }) }), { maxLength: 12 }),
        fc.nat(20_000),
        (docs, budget) => {
          const fitted = fitDocuments(docs, budget);
          expect(fitted).toHaveLength(docs.length);
          const overhead = blocksLength(docs.map((doc) => ({ ...doc, text: '' })));
          if (overhead <= budget) expect(blocksLength(fitted)).toBeLessThanOrEqual(budget);
          else expect(fitted.every((doc) => doc.text === '' || docs.find((d) => d.name === doc.name)?.text === '')).toBe(true);
          fitted.forEach((doc, i) => expect(docs[i]?.text.startsWith(doc.text)).toBe(true));
        },
      ),
    );
  });
});
