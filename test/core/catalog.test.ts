import { describe, expect, it } from 'vitest';
import { defineCatalog } from '../../src/core/catalog.js';
import { t } from '../../src/core/i18n.js';
import { ct } from '../../adapters/console/texts.js';
import { dt } from '../../adapters/discord/texts.js';
import { tt } from '../../adapters/telegram/texts.js';

const en = {
  hello: () => 'Hello.',
  count: (p: { n: number }) => `${p.n} files`,
};
const zh: typeof en = {
  hello: () => '你好。',
  count: (p) => `${p.n} 个文件`,
};
const say = defineCatalog({ en, zh });

describe('defineCatalog: the one translation lookup', () => {
  it('when a key is looked up, then the sentence in that language comes back, with its parameters filled in', () => {
    expect(say('en', 'hello')).toBe('Hello.');
    expect(say('zh', 'count', { n: 3 })).toBe('3 个文件');
  });

  it('when a key is misused, then the compiler refuses it', () => {
    // @ts-expect-error a sentence with parameters needs them
    expect(() => say('en', 'count')).toThrow();
    // @ts-expect-error a key that is not in the catalog
    expect(() => say('en', 'missing')).toThrow();
    // @ts-expect-error a parameter of the wrong type
    expect(say('en', 'count', { n: 'x' })).toBe('x files');
  });

  it("when the core and each adapter look up a sentence, then each uses its own catalog through the same lookup", () => {
    expect(t('zh', 'tooLong', { max: 5 })).toBe('消息太长了（超过 5 个字符），请精简一下。');
    expect(tt('en', 'buttonElsewhere')).toBe('This button belongs to another chat, so it does nothing here.');
    expect(dt('en', 'notYourButtons', { owner: '7' })).toBe("These buttons belong to <@7>'s project. Use /video to start your own.");
    expect(ct('zh', 'cannotRead', { path: '/a', code: 'EACCES' })).toBe('无法读取 /a（EACCES）');
  });
});
