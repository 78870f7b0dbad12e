import { describe, expect, it } from 'vitest';
import { describeChanges, timelineSummary } from '../../src/core/timeline-text.js';
import { diffDrafts, parseDraft } from '../../src/nemo/draft.js';
import type { DraftChange } from '../../src/nemo/draft.js';

const DRAFT = parseDraft({
  d: 10_000,
  t: [
    { tt: 0, sg: [{ id: 'v1', st: 0, d: 10_000, m: { name: 'city timelapse' } }] },
    { tt: 1, sg: [{ id: 'a1', st: 0, d: 10_000, m: { name: 'Lo-fi', volume: 0.35 } }] },
    { tt: 7, sg: [{ id: 't1', st: 0, d: 3_000, m: { text: 'Urban Dreams' } }] },
  ],
});

describe('timelineSummary', () => {
  it('when the draft has the contract example tracks, then the English summary matches the contract format', () => {
    expect(timelineSummary(DRAFT, 'en')).toBe(
      ['Timeline (3 tracks):', '1. Video: city timelapse (0-10s)', '2. BGM: Lo-fi (0-10s, 35%)', '3. Title: "Urban Dreams" (0-3s)'].join('\n'),
    );
  });

  it('when the language is Chinese, then the same summary is in Chinese', () => {
    expect(timelineSummary(DRAFT, 'zh')).toBe(
      ['时间线（3 条轨道）：', '1. 视频：city timelapse（0-10 秒）', '2. 背景音乐：Lo-fi（0-10 秒，35%）', '3. 标题：“Urban Dreams”（0-3 秒）'].join('\n'),
    );
  });

  it.each([
    ['en', 'The timeline is empty.'],
    ['zh', '时间线是空的。'],
  ] as const)('when the draft is empty (%s), then a sentence says so', (lang, expected) => {
    expect(timelineSummary(parseDraft({ d: 0, t: [] }), lang)).toBe(expected);
    expect(timelineSummary(parseDraft({ d: 0, t: [{ tt: 0, sg: [] }] }), lang)).toBe(expected);
  });

  it('when fields are missing, then the lines are shorter but still one per track', () => {
    const draft = parseDraft({ t: [{ tt: 0, sg: [{}] }, { tt: 9, m: { name: 'stickers' }, sg: [{ st: 1000, d: 500 }] }, { tt: 1, sg: [] }] });
    expect(timelineSummary(draft, 'en')).toBe(['Timeline (3 tracks):', '1. Video', '2. Track: stickers (1-1.5s)', '3. BGM: (empty)'].join('\n'));
  });

  it('when a track has many clips, then it lists a few names, the span and the count', () => {
    const draft = parseDraft({
      t: [
        {
          tt: 0,
          sg: ['a', 'b', 'c', 'd'].map((name, i) => ({ st: i * 2000, d: 2000, m: { name } })),
        },
        { tt: 1, sg: [{ st: 0, d: 8000, m: { name: 'Narration', volume: 1 } }] },
      ],
    });
    expect(timelineSummary(draft, 'en')).toBe(
      ['Timeline (2 tracks):', '1. Video: a, b, c, +1 more (0-8s, 4 clips)', '2. Voice-over: Narration (0-8s, 100%)'].join('\n'),
    );
  });

  it('when there is one track, then the header is singular', () => {
    const draft = parseDraft({ t: [{ tt: 7, sg: [{ st: 0, d: 3000, m: { text: 'Hi' } }] }] });
    expect(timelineSummary(draft, 'en').split('\n')[0]).toBe('Timeline (1 track):');
  });
});

describe('describeChanges', () => {
  it('when the contract example changes happen, then each line names what, its name, timing and before → after', () => {
    const after = parseDraft({
      d: 10_000,
      t: [
        { tt: 0, sg: [{ id: 'v1', st: 0, d: 8_000, m: { name: 'city timelapse' } }] },
        { tt: 1, sg: [{ id: 'a1', st: 0, d: 10_000, m: { name: 'Lo-fi', volume: 0.6 } }] },
        { tt: 7, sg: [{ id: 't1', st: 0, d: 3_000, m: { text: 'Urban Dreams' } }] },
        { tt: 7, sg: [{ id: 't2', st: 0, d: 3_000, m: { text: 'Paradise Found' } }] },
      ],
    });
    const changes = diffDrafts(DRAFT, after);
    expect(describeChanges(changes, 'en')).toEqual([
      'Video trimmed (city timelapse): 0–10 s → 0–8 s',
      'Music volume (Lo-fi): 35% → 60%',
      'Title added: "Paradise Found", 0–3 s',
    ]);
    expect(describeChanges(changes, 'zh')).toEqual([
      '视频已修剪（city timelapse）：0–10 秒 → 0–8 秒',
      '音乐音量（Lo-fi）：35% → 60%',
      '标题已添加：“Paradise Found”，0–3 秒',
    ]);
  });

  it('when a clip moves, is removed, renamed or its text changes, then each gets its own wording', () => {
    const changes: DraftChange[] = [
      { type: 'changed', kind: 'video', field: 'timing', startMs: 2000, endMs: 7000, beforeStartMs: 0, beforeEndMs: 5000 },
      { type: 'changed', kind: 'video', field: 'timing', startMs: 1000, endMs: 3000, beforeStartMs: 0, beforeEndMs: 5000 },
      { type: 'removed', kind: 'audio', name: 'Lo-fi', startMs: 0, endMs: 10_000 },
      { type: 'changed', kind: 'audio', field: 'name', before: 'Lo-fi', after: 'Jazz' },
      { type: 'changed', kind: 'text', field: 'text', before: 'Old', after: 'New' },
      { type: 'changed', kind: 'audio', field: 'volume', after: '50%' },
      { type: 'added', kind: 'other' },
    ];
    expect(describeChanges(changes, 'en')).toEqual([
      'Video moved: 0–5 s → 2–7 s',
      'Video timing changed: 0–5 s → 1–3 s',
      'Music removed: Lo-fi, 0–10 s',
      'Music renamed: Lo-fi → Jazz',
      'Title text: "Old" → "New"',
      'Music volume: 50%',
      'Item added',
    ]);
  });

  it('when there are no changes, then there are no lines', () => {
    expect(describeChanges([], 'zh')).toEqual([]);
  });
});
