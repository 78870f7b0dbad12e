import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitText, truncateText } from '../../adapters/discord/split-text.js';

describe('splitText', () => {
  it('when a text fits, then it stays one piece', () => {
    expect(splitText('hello')).toEqual(['hello']);
  });

  it('when any text is split, then every piece fits, no surrogate pair is cut, and no non-space character is lost', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\n', '😀', '视'), maxLength: 600 }), fc.integer({ min: 4, max: 50 }), (text, max) => {
        const pieces = splitText(text, max);
        for (const piece of pieces) {
          expect(piece.length).toBeLessThanOrEqual(max);
          expect(/^[\udc00-\udfff]/.test(piece) || /[\ud800-\udbff]$/.test(piece)).toBe(false);
        }
        expect(pieces.join('').replace(/\s/g, '')).toBe(text.replace(/\s/g, ''));
      }),
    );
  });

  it('when a long text has line breaks, then it is cut at one', () => {
    const text = `${'a'.repeat(1500)}\n${'b'.repeat(1000)}`;
    expect(splitText(text)).toEqual(['a'.repeat(1500), 'b'.repeat(1000)]);
  });

  it('when an edit is too long, then it is cut to 2000 with an ellipsis', () => {
    const cut = truncateText('x'.repeat(2500));
    expect(cut.length).toBe(2000);
    expect(cut.endsWith('…')).toBe(true);
    expect(truncateText('short')).toBe('short');
  });
});
