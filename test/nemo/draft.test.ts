import { describe, expect, it } from 'vitest';
import { diffDrafts, isExportable, parseDraft } from '../../src/nemo/draft.js';

const RAW = {
  d: 10_000,
  t: [
    { tt: 0, m: { name: 'main' }, sg: [{ id: 'v1', st: 0, d: 10_000, m: { name: 'city timelapse' } }] },
    { tt: 1, sg: [{ id: 'a1', st: 0, d: 10_000, m: { name: 'Lo-fi', volume: 0.35 } }] },
    { tt: 7, sg: [{ id: 't1', st: 0, d: 3_000, m: { text: 'Urban Dreams' } }] },
  ],
};

describe('parseDraft', () => {
  it('when the draft has the documented short keys, then every field is read', () => {
    expect(parseDraft(RAW)).toEqual({
      durationMs: 10_000,
      tracks: [
        { kind: 'video', typeCode: 0, name: 'main', segments: [{ id: 'v1', startMs: 0, durationMs: 10_000, name: 'city timelapse' }] },
        { kind: 'audio', typeCode: 1, segments: [{ id: 'a1', startMs: 0, durationMs: 10_000, name: 'Lo-fi', volume: 0.35 }] },
        { kind: 'text', typeCode: 7, segments: [{ id: 't1', startMs: 0, durationMs: 3_000, text: 'Urban Dreams' }] },
      ],
    });
  });

  it('when fields are missing or odd, then they are left out instead of failing', () => {
    const draft = parseDraft({
      t: [
        { tt: 4, sg: [{ st: 'soon', m: { volume: 'loud', name: '  ' } }, 'garbage', null] },
        { sg: [{ id: 7, st: '1500', d: 2000 }] },
        'not a track',
      ],
    });
    expect(draft).toEqual({
      durationMs: 3_500,
      tracks: [
        { kind: 'other', typeCode: 4, segments: [{ startMs: 0, durationMs: 0 }] },
        { kind: 'other', typeCode: -1, segments: [{ id: '7', startMs: 1_500, durationMs: 2_000 }] },
      ],
    });
  });

  it.each([null, undefined, 42, 'not json', [], { t: 'nope' }, { d: 'x' }])(
    'when the draft is garbage (%j), then it is an empty draft',
    (raw) => {
      expect(parseDraft(raw)).toEqual({ durationMs: 0, tracks: [] });
    },
  );

  it('when the draft arrives as JSON text, then it is parsed the same', () => {
    expect(parseDraft(JSON.stringify(RAW))).toEqual(parseDraft(RAW));
  });
});

describe('isExportable', () => {
  it('when a track has a segment, then the draft can be exported', () => {
    expect(isExportable(RAW)).toBe(true);
  });

  it.each([{ d: 0, t: [] }, { d: 0, t: [{ tt: 0, sg: [] }] }, null, 'garbage'])(
    'when no track has a segment (%j), then it cannot be exported',
    (raw) => {
      expect(isExportable(raw)).toBe(false);
    },
  );
});

describe('diffDrafts', () => {
  it('when nothing changed, then there is no change', () => {
    expect(diffDrafts(parseDraft(RAW), parseDraft(structuredClone(RAW)))).toEqual([]);
  });

  it('when two segments share an id, then each is matched with itself: no phantom change, and a real one is reported once', () => {
    const twins = {
      d: 6_000,
      t: [{ tt: 7, sg: [{ id: 'same', st: 0, d: 2_000, m: { text: 'One' } }, { id: 'same', st: 3_000, d: 2_000, m: { text: 'Two' } }] }],
    };
    expect(diffDrafts(parseDraft(twins), parseDraft(structuredClone(twins)))).toEqual([]);
    const after = structuredClone(twins);
    after.t[0]!.sg[1]!.m.text = 'Three';
    expect(diffDrafts(parseDraft(twins), parseDraft(after))).toEqual([
      { type: 'changed', kind: 'text', field: 'text', text: 'Three', startMs: 3_000, endMs: 5_000, before: 'Two', after: 'Three' },
    ]);
  });

  it('when a title is added, then it is reported with its text and timing', () => {
    const after = structuredClone(RAW);
    after.t.push({ tt: 7, sg: [{ id: 't2', st: 0, d: 3_000, m: { text: 'Paradise Found' } }] });
    expect(diffDrafts(parseDraft(RAW), parseDraft(after))).toEqual([
      { type: 'added', kind: 'text', text: 'Paradise Found', startMs: 0, endMs: 3_000 },
    ]);
  });

  it('when a segment is removed, then it is reported with its name', () => {
    const after = { ...RAW, t: RAW.t.filter((track) => track.tt !== 1) };
    expect(diffDrafts(parseDraft(RAW), parseDraft(after))).toEqual([
      { type: 'removed', kind: 'audio', name: 'Lo-fi', startMs: 0, endMs: 10_000 },
    ]);
  });

  it('when timing, volume and text change, then each is a change with before and after', () => {
    const after = structuredClone(RAW);
    after.t[0]!.sg[0]!.d = 8_000;
    (after.t[1]!.sg[0]!.m as { volume: number }).volume = 0.6;
    (after.t[2]!.sg[0]!.m as { text: string }).text = 'Paradise Found';
    expect(diffDrafts(parseDraft(RAW), parseDraft(after))).toEqual([
      {
        type: 'changed',
        kind: 'video',
        field: 'timing',
        name: 'city timelapse',
        startMs: 0,
        endMs: 8_000,
        beforeStartMs: 0,
        beforeEndMs: 10_000,
        before: '0–10 s',
        after: '0–8 s',
      },
      { type: 'changed', kind: 'audio', field: 'volume', name: 'Lo-fi', startMs: 0, endMs: 10_000, before: '35%', after: '60%' },
      { type: 'changed', kind: 'text', field: 'text', text: 'Paradise Found', startMs: 0, endMs: 3_000, before: 'Urban Dreams', after: 'Paradise Found' },
    ]);
  });

  it('when segments have ids and move to another track, then they are matched by id, not position', () => {
    const before = parseDraft({ t: [{ tt: 0, sg: [{ id: 'a', st: 0, d: 1000 }, { id: 'b', st: 1000, d: 1000 }] }] });
    const after = parseDraft({ t: [{ tt: 0, sg: [{ id: 'b', st: 1000, d: 1000 }] }, { tt: 0, sg: [{ id: 'a', st: 0, d: 1000 }] }] });
    expect(diffDrafts(before, after)).toEqual([]);
  });

  it('when segments have no ids and a track is inserted in front, then tracks of the same kind still match', () => {
    const before = parseDraft({ t: [{ tt: 0, sg: [{ st: 0, d: 5000, m: { name: 'beach' } }] }] });
    const after = parseDraft({
      t: [
        { tt: 7, sg: [{ st: 0, d: 2000, m: { text: 'Hello' } }] },
        { tt: 0, sg: [{ st: 0, d: 4000, m: { name: 'beach' } }] },
      ],
    });
    expect(diffDrafts(before, after).map((change) => [change.type, change.kind, change.field])).toEqual([
      ['added', 'text', undefined],
      ['changed', 'video', 'timing'],
    ]);
  });
});
