import { describe, expect, it } from 'vitest';
import { TypingThrottle } from '../../src/core/typing-throttle.js';

describe('TypingThrottle', () => {
  it('when one chat floods, then typing shows once per interval; another chat is not held back', () => {
    let now = 0;
    const throttle = new TypingThrottle(4_000, 100, () => now);
    const shown = Array.from({ length: 50 }, () => throttle.due('telegram:1')).filter(Boolean);
    expect(shown).toHaveLength(1);
    expect(throttle.due('telegram:2')).toBe(true);
    now = 3_999;
    expect(throttle.due('telegram:1')).toBe(false);
    now = 4_000;
    expect(throttle.due('telegram:1')).toBe(true);
  });

  it('when more chats than its bound pass, then it keeps only the newest', () => {
    const now = 0;
    const throttle = new TypingThrottle(4_000, 3, () => now);
    for (const chat of ['a', 'b', 'c', 'd']) expect(throttle.due(chat)).toBe(true);
    // 'a' was forgotten (the oldest), 'd' is remembered.
    expect(throttle.due('a')).toBe(true);
    expect(throttle.due('d')).toBe(false);
  });
});
