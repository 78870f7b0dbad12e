import type { ButtonInteraction, ChatInputCommandInteraction, Message } from 'discord.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  normalizeButton,
  normalizeCommand,
  normalizeMessage as normalizeDiscordMessage,
  stripMention,
  toIncomingMessage as discordIncoming,
  type NormalizeOptions,
} from '../../adapters/discord/normalize.js';
import {
  addressOf,
  mergeAlbum,
  normalizeMessage,
  TelegramMessageSchema,
  toIncomingMessage,
  type NormalizedMessage,
} from '../../adapters/telegram/normalize.js';
import { AnonymousTokenRefusedError } from '../../src/core/credentials.js';
import { errorReply } from '../../src/core/error-reply.js';
import { translateAgentText } from '../../src/core/gui-translate.js';
import { route, type RouteAction } from '../../src/core/router.js';
import { describeChanges, timelineSummary } from '../../src/core/timeline-text.js';
import type { Attachment, Language } from '../../src/core/types.js';
import { createLogger, scrubSecrets } from '../../src/log.js';
import { diffDrafts, isExportable, parseDraft, type DraftChange } from '../../src/nemo/draft.js';
import { NemoApiError, NemoInputError, NemoNetworkError, NemoStreamError, redactTokens } from '../../src/nemo/errors.js';
import { turnEventsFromPayloads } from '../../src/nemo/sse-events.js';
import { turnEventsFromSse } from '../../src/nemo/turn-stream.js';
import type { TurnEvent } from '../../src/nemo/types.js';
import { seedFor } from './support/prng.js';

/** At least this many generated inputs per property. */
const RUNS = 10_000;
const SEED = seedFor('fuzz');
let property = 0;
/** Each property gets its own seed from the run's: a failure names it, and FAULT_SEED replays it. */
function check<Ts extends [unknown, ...unknown[]]>(prop: fc.IPropertyWithHooks<Ts>, runs = RUNS): void {
  property += 1;
  fc.assert(prop, { numRuns: runs, seed: (SEED + property * 7919) | 0 });
}

const LANGS: readonly Language[] = ['en', 'zh'];
const ROUTE_ACTIONS: readonly RouteAction[] = ['export', 'credits', 'status', 'upload', 'new', 'help', 'start', 'chat', 'login', 'logout', 'stats', 'unknown_command', 'empty'];
const TURN_EVENT_TYPES = new Set(['keepalive', 'partial', 'text', 'tool_call', 'tool_result', 'model_error', 'server_error']);

/** Unicode with the troublemakers over-represented: controls, CR/LF, surrogates (lone ones too), CJK, direction marks. */
const nasty = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  {
    weight: 3,
    arbitrary: fc.string({
      unit: fc.constantFrom('\r', '\n', '\t', ' ', '\u0000', '\u001b', '\u200b', '\u202e', '\ufeff', '\ud83c', '\udfac', '🎬', '导', '出', '视频', 'é', '/', '@', ':', '"', '\\', '{', '}'),
      maxLength: 30,
    }),
  },
);

// ───────────────────────────────────────────── the router ─────────────────────────────────────────────

const KEYWORDS: Record<'export' | 'credits' | 'status', readonly string[]> = {
  export: ['export', 'download', 'render', 'send', '导出', '下载'],
  credits: ['credits', 'credit', 'balance', '积分', '余额'],
  status: ['status', 'tracks', 'track', 'timeline', '状态', '时间线', '轨道'],
};
const FILLERS = ['please', 'the', 'video', 'my', 'it', 'now', 'show', 'me', 'final', 'clip', 'ok', 'thanks'];
/** Words outside both lists: one of them makes any phrase a chat turn. */
const CONTENT_WORDS = ['goods', 'kenya', '4k', 'sunset', 'beach', 'tomorrow', 'cats', 'slower', 'louder', 'without'];

const randomCase = (word: string) =>
  fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((flags) => [...word].map((c, i) => (flags[i] ? c.toUpperCase() : c)).join(''));

const keywordPhrase = fc.constantFrom('export', 'credits', 'status').chain((action) =>
  fc
    .tuple(
      fc.constantFrom(...KEYWORDS[action as keyof typeof KEYWORDS]).chain(randomCase),
      fc.array(fc.constantFrom(...FILLERS).chain(randomCase), { maxLength: 4 }),
      fc.nat(),
      fc.constantFrom('', '!', '?', '.', '。', '...', '！'),
    )
    .map(([keyword, fillers, at, end]) => {
      const words = [...fillers];
      words.splice(at % (words.length + 1), 0, keyword);
      return { action: action as keyof typeof KEYWORDS, text: `${words.join(' ')}${end}` };
    }),
);

/** Names every object has: a lookup table that is a plain object must not mistake them for its own keys. */
const PROTOTYPE_WORDS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__'];
const routerText = fc.oneof(
  { weight: 8, arbitrary: nasty },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('', '/', ' '), fc.constantFrom(...PROTOTYPE_WORDS).chain(randomCase), fc.constantFrom('', ' please', ' x', '@nemo_bot')).map((parts) => parts.join('')) },
);

describe('fuzz: the router', () => {
  it('when any text arrives, including words every object has ("constructor", "__proto__"), then route answers with one of its actions', () => {
    check(
      fc.property(routerText, fc.boolean(), (text, files) => {
        const routed = route(text, files);
        // A non-action has no handler in the engine's map (src/core/engine.ts, dispatch): the message would fail.
        expect(ROUTE_ACTIONS.includes(routed.action), `route(${JSON.stringify(text)}) returned a non-action: ${String(routed.action)}`).toBe(true);
      }),
    );
  });

  it('when any text at all arrives, with or without files, then route never throws nor relays control characters, files always mean an upload, and a relayed text routes the same again', () => {
    check(
      fc.property(nasty, fc.boolean(), (text, files) => {
        const routed = route(text, files);
        expect(typeof routed.text).toBe('string');
        if (files) expect(routed.action).toBe('upload');
        if (routed.command !== undefined) expect(routed.command).toBe(routed.command.toLowerCase());
        // eslint-disable-next-line no-control-regex
        expect(routed.text).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\ufeff]/);
        if (routed.action === 'chat') {
          expect(routed.text).not.toBe('');
          expect(routed.text).toBe(routed.text.trim());
          // Routing is stable: what was relayed would be relayed again unchanged.
          expect(route(routed.text, false)).toEqual(routed);
        }
        // eslint-disable-next-line no-control-regex
        if (routed.action === 'empty') expect(text.replace(/[\s\u0000-\u001f\u007f-\u009f\u200b\u202a-\u202e\u2066-\u2069\ufeff]/g, '')).toBe('');
      }),
    );
  });

  it('when a message is just a command phrase (a keyword, fillers, any case, punctuation), then it is that action and nothing goes to the agent', () => {
    check(
      fc.property(keywordPhrase, fc.boolean(), ({ action, text }, files) => {
        expect(route(text, files)).toEqual(files ? { action: 'upload', text: '' } : { action, text: '' });
      }),
    );
  });

  it('when a command phrase also carries one word of content, or runs past six words, then it goes to the agent as a chat turn', () => {
    check(
      fc.property(keywordPhrase, fc.constantFrom(...CONTENT_WORDS), fc.nat(), fc.boolean(), ({ text }, word, at, long) => {
        const words = text.split(' ');
        // Either a word that is neither keyword nor filler, or fillers up to seven words.
        if (long) while (words.length < 7) words.push('please');
        else words.splice(at % (words.length + 1), 0, word);
        const message = words.join(' ');
        expect(route(message, false)).toEqual({ action: 'chat', text: message });
      }),
    );
  });

  it('when a slash command comes with any name, bot suffix and argument, then it maps to its action (or unknown_command) with the trimmed argument', () => {
    const known: Record<string, RouteAction> = { start: 'start', help: 'help', new: 'new', export: 'export', credits: 'credits', status: 'status', upload: 'upload', login: 'login', logout: 'logout', stats: 'stats' };
    check(
      fc.property(
        fc.oneof(fc.constantFrom(...Object.keys(known)).chain(randomCase), fc.stringMatching(/^[A-Za-z0-9_]{1,12}$/)),
        fc.option(fc.stringMatching(/^[A-Za-z0-9_]{1,12}$/), { nil: undefined }),
        fc.option(fc.string({ unit: 'grapheme', maxLength: 30 }), { nil: undefined }),
        (name, bot, argument) => {
          const text = `/${name}${bot === undefined ? '' : `@${bot}`}${argument === undefined ? '' : ` ${argument}`}`;
          const routed = route(text, false);
          const lower = name.toLowerCase();
          expect(routed.command).toBe(lower);
          expect(routed.action).toBe(Object.hasOwn(known, lower) ? known[lower] : 'unknown_command');
          expect(routed.text).toBe(routed.text.trim());
        },
      ),
    );
  });
});

// ───────────────────────────────────────────── the SSE reader ─────────────────────────────────────────────

interface Expectation {
  texts: string[];
  tools: string[];
  serverErrors: number;
}

type FrameSpec =
  | { kind: 'text'; text: string; thought: boolean; partial: boolean; author: string; id: string; snake: boolean }
  | { kind: 'call'; name: string; id: string }
  | { kind: 'response'; name: string; id: string }
  | { kind: 'error'; message: string; details: boolean }
  | { kind: 'truncated'; json: string; cut: number }
  | { kind: 'keepalive'; style: number }
  | { kind: 'unknown'; value: unknown };

const eventId = fc.stringMatching(/^[a-z0-9]{4,10}$/);
const frameSpec: fc.Arbitrary<FrameSpec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      text: fc.string({ unit: 'grapheme', minLength: 0, maxLength: 30 }),
      thought: fc.boolean(),
      partial: fc.boolean(),
      author: fc.constantFrom('nemo_agent', 'nemo_agent', 'user', 'sub_agent'),
      id: eventId,
      snake: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('call' as const), name: fc.constantFrom('generate_video_with_seedance', 'edit_multitrack', 'x'), id: eventId }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('response' as const), name: fc.constantFrom('generate_video_with_seedance', 'edit_multitrack'), id: eventId }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('error' as const), message: fc.string({ maxLength: 20 }), details: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('truncated' as const),
      json: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ author: 'nemo_agent', content: { role: 'model', parts: [{ text: JSON.stringify(v) }] } })),
      cut: fc.nat(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('keepalive' as const), style: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unknown' as const), value: fc.jsonValue({ maxDepth: 2 }) }) },
);

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** One SSE frame's text for a spec, with the given line ending. */
function frameText(spec: FrameSpec, eol: string, serial: number): string {
  const data = (payload: string): string => `data: ${payload}${eol}${eol}`;
  const adk = (author: string, id: string, content: unknown, extra: Record<string, unknown> = {}, snaked = false) => {
    const event: Record<string, unknown> = { content, author, invocationId: 'e-fuzz', id, timestamp: serial, actions: { stateDelta: {} }, ...extra };
    return JSON.stringify(snaked ? Object.fromEntries(Object.entries(event).map(([k, v]) => [snake(k), v])) : event);
  };
  switch (spec.kind) {
    case 'text':
      return data(adk(spec.author, spec.id, { role: spec.author === 'user' ? 'user' : 'model', parts: [{ text: spec.text, ...(spec.thought ? { thought: true } : {}) }] }, spec.partial ? { partial: true } : {}, spec.snake));
    case 'call':
      return data(adk('nemo_agent', `${spec.id}c`, { role: 'model', parts: [{ functionCall: { id: spec.id, name: spec.name, args: { n: serial } } }] }));
    case 'response':
      return data(adk('nemo_agent', `${spec.id}r`, { role: 'user', parts: [{ functionResponse: { id: spec.id, name: spec.name, response: { ok: true } } }] }));
    case 'error':
      return data(JSON.stringify(spec.details ? { error: spec.message, error_details: { error_type: 'X', error_message: spec.message, timestamp: serial } } : { error: spec.message }));
    case 'truncated':
      return data(spec.json.slice(0, spec.cut % Math.max(1, spec.json.length)) || '{');
    case 'keepalive':
      return [`: keep-alive${eol}${eol}`, `data: ${eol}${eol}`, data('{"type":"heartbeat"}'), `event: heartbeat${eol}data: {}${eol}${eol}`, `id: ${serial}${eol}retry: 100${eol}${eol}`][spec.style] ?? '';
    case 'unknown':
      return data(JSON.stringify({ something: spec.value }));
  }
}

/** What the reader must make of the frames: the oracle, written from docs/nemo-api.md, not from the code. */
function expected(specs: readonly FrameSpec[]): Expectation {
  const out: Expectation = { texts: [], tools: [], serverErrors: 0 };
  const seen = new Set<string>();
  for (const spec of specs) {
    if (spec.kind === 'text') {
      if (spec.partial) continue;
      if (seen.has(spec.id)) continue;
      seen.add(spec.id);
      if (!spec.thought && spec.author !== 'user' && spec.text.trim() !== '') out.texts.push(spec.text);
    } else if (spec.kind === 'call' || spec.kind === 'response') {
      const id = `${spec.id}${spec.kind === 'call' ? 'c' : 'r'}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.tools.push(`${spec.kind}:${spec.name}`);
    } else if (spec.kind === 'error' || spec.kind === 'truncated') {
      out.serverErrors += 1;
    }
  }
  return out;
}

/** Cuts `text` at the given points (any UTF-16 index, even inside a CRLF or a surrogate pair). */
function cut(text: string, points: readonly number[]): string[] {
  const at = [...new Set(points.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const point of at) {
    chunks.push(text.slice(from, point));
    from = point;
  }
  chunks.push(text.slice(from));
  return chunks;
}

function summarize(events: readonly TurnEvent[]): Expectation {
  return {
    texts: events.flatMap((e) => (e.type === 'text' ? [e.text] : [])),
    tools: events.flatMap((e) => (e.type === 'tool_call' ? [`call:${e.name}`] : e.type === 'tool_result' ? [`response:${e.name}`] : [])),
    serverErrors: events.filter((e) => e.type === 'server_error').length,
  };
}

describe('fuzz: the SSE reader', () => {
  it('when arbitrary text arrives in arbitrary chunks, then the reader never throws and only yields known events', () => {
    check(
      fc.property(fc.string({ unit: fc.constantFrom('d', 'a', 't', ':', ' ', '\r', '\n', '{', '}', '"', 'x', 'é', '🎬', '\ud800', 'event', 'data', 'id', 'retry'), maxLength: 120 }), fc.array(fc.nat(), { maxLength: 8 }), (text, points) => {
        for (const event of turnEventsFromSse(cut(text, points))) expect(TURN_EVENT_TYPES.has(event.type)).toBe(true);
      }),
    );
  });

  it('when a turn of ADK events, keep-alives, error frames and partial JSON comes with LF, CRLF or CR line ends, cut anywhere, then the events match the contract and do not depend on the cuts', () => {
    check(
      fc.property(fc.array(frameSpec, { minLength: 1, maxLength: 12 }), fc.constantFrom('\n', '\r\n', '\r'), fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), (specs, eol, points, endless) => {
        let text = specs.map((spec, i) => frameText(spec, eol, i)).join('');
        // A server may close without the last blank line: the last frame still counts.
        if (endless) text = text.replace(/(\r\n|\r|\n)+$/, '');
        const whole = turnEventsFromSse([text]);
        expect(turnEventsFromSse(cut(text, points))).toEqual(whole);
        expect(summarize(whole)).toEqual(expected(specs));
      }),
    );
  });

  it('when any JSON value or any text is a data payload, then the mapper never throws and an unreadable payload is an error, never a crash', () => {
    check(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), fc.anything({ maxDepth: 3 }).map((v) => safeStringify(v) ?? 'null'), nasty), (payload) => {
        const events = turnEventsFromPayloads([payload, { event: 'message', data: payload }]);
        for (const event of events) expect(TURN_EVENT_TYPES.has(event.type)).toBe(true);
      }),
    );
  });

  it('when ADK-shaped events carry odd types in every field, then the mapper never throws and shows no thought or user text', () => {
    const odd = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 8 }), fc.array(fc.anything({ maxDepth: 1 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.anything({ maxDepth: 1 }), { maxKeys: 3 }));
    const part = fc.record(
      { text: fc.oneof(fc.string({ maxLength: 10 }), odd), thought: fc.oneof(fc.boolean(), odd), functionCall: fc.oneof(fc.record({ name: fc.oneof(fc.string(), odd), args: odd, id: odd }), odd), function_response: fc.oneof(fc.record({ name: fc.string(), response: odd }), odd) },
      { requiredKeys: [] },
    );
    const event = fc.record(
      {
        author: fc.oneof(fc.constantFrom('nemo_agent', 'user'), odd),
        id: odd,
        partial: fc.oneof(fc.boolean(), odd),
        errorCode: odd,
        error_message: odd,
        content: fc.oneof(fc.record({ role: fc.oneof(fc.constantFrom('model', 'user'), odd), parts: fc.oneof(fc.array(fc.oneof(part, odd), { maxLength: 4 }), odd) }, { requiredKeys: [] }), odd),
        invocationId: odd,
      },
      { requiredKeys: [] },
    );
    check(
      fc.property(fc.array(event, { maxLength: 5 }), (events) => {
        const out = turnEventsFromPayloads(events.map((e) => JSON.stringify(e)));
        for (const e of out) {
          expect(TURN_EVENT_TYPES.has(e.type)).toBe(true);
          if (e.type === 'text') expect(e.author).not.toBe('user');
        }
      }),
    );
  });
});

// ───────────────────────────────────────────── drafts and their texts ─────────────────────────────────────────────

const NO_GARBAGE = /undefined|NaN|\[object Object\]/;
const num = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 600_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -1_000, max: 0 }) },
  { weight: 1, arbitrary: fc.double({ noNaN: false }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 600_000 }).map(String) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.boolean(), fc.string({ maxLength: 4 }), fc.constant({}), fc.constant([])) },
);
/** Names and texts as a draft may hold them (never the words the "no garbage" checks look for). */
const words = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength }).filter((text) => !NO_GARBAGE.test(text));
const label = fc.oneof(words(12), fc.integer(), fc.constant(null), fc.constant(''), fc.constant({ x: 1 }));
const segment = fc.record(
  { id: fc.oneof(fc.stringMatching(/^s[0-9]{1,2}$/), fc.integer({ min: 0, max: 20 }), fc.constant(null)), st: num, d: num, m: fc.oneof(fc.record({ name: label, text: label, volume: num }, { requiredKeys: [] }), label), start: num, name: label },
  { requiredKeys: [] },
);
const track = fc.record(
  { tt: fc.oneof(fc.constantFrom(0, 1, 7, 3, '0', '7'), num), m: fc.oneof(fc.record({ name: label }, { requiredKeys: [] }), label), sg: fc.oneof({ weight: 5, arbitrary: fc.array(segment, { maxLength: 4 }) }, { weight: 1, arbitrary: label }), type: num },
  { requiredKeys: [] },
);
const draftLike = fc.oneof(
  { weight: 6, arbitrary: fc.record({ d: num, t: fc.oneof({ weight: 6, arbitrary: fc.array(track, { maxLength: 5 }) }, { weight: 1, arbitrary: label }), tracks: fc.array(track, { maxLength: 2 }) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
);
/** A draft as the service writes it (unique segment ids, sane numbers). */
const cleanDraft = fc
  .array(
    fc.record({
      tt: fc.constantFrom(0, 1, 7),
      name: words(10),
      sg: fc.array(fc.record({ st: fc.integer({ min: 0, max: 60_000 }), d: fc.integer({ min: 0, max: 60_000 }), name: words(8), text: words(8), volume: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 3 }),
    }),
    { maxLength: 4 },
  )
  .map((tracks) => {
    let n = 0;
    return { d: 0, t: tracks.map((t) => ({ tt: t.tt, m: { name: t.name }, sg: t.sg.map((s) => ({ id: `seg-${n++}`, st: s.st, d: s.d, m: { name: s.name, text: s.text, volume: s.volume } })) })) };
  });


describe('fuzz: drafts, timeline summaries and change lines', () => {
  it('when any value is read as a draft, then parseDraft never throws, keeps numbers sane and agrees with isExportable; its JSON text reads the same', () => {
    check(
      fc.property(draftLike, (raw) => {
        const draft = parseDraft(raw);
        expect(Number.isNaN(draft.durationMs)).toBe(false);
        expect(draft.durationMs).toBeGreaterThanOrEqual(0);
        for (const t of draft.tracks) {
          expect(['video', 'audio', 'text', 'other']).toContain(t.kind);
          for (const s of t.segments) {
            expect(Number.isFinite(s.startMs) && s.startMs >= 0).toBe(true);
            expect(Number.isFinite(s.durationMs) && s.durationMs >= 0).toBe(true);
            if (s.volume !== undefined) expect(s.volume).toBeGreaterThanOrEqual(0);
          }
        }
        expect(isExportable(raw)).toBe(draft.tracks.some((t) => t.segments.length > 0));
        if (typeof raw !== 'string') {
          const text = safeStringify(raw);
          if (text !== undefined) expect(JSON.stringify(parseDraft(text))).toBe(JSON.stringify(parseDraft(JSON.parse(text))));
        }
      }),
    );
  });

  it('when two arbitrary drafts are compared and summarized in either language, then nothing throws and every line is real words (no undefined, NaN or [object Object])', () => {
    check(
      fc.property(draftLike, draftLike, fc.constantFrom(...LANGS), (a, b, lang) => {
        const before = parseDraft(a);
        const after = parseDraft(b);
        const changes = diffDrafts(before, after);
        for (const change of changes) expect(['added', 'removed', 'changed']).toContain(change.type);
        // Repeated or missing segment ids included: a draft never differs from itself.
        expect(diffDrafts(before, parseDraft(a))).toEqual([]);
        const lines = describeChanges(changes, lang);
        expect(lines).toHaveLength(changes.length);
        for (const line of lines) {
          expect(line.trim()).not.toBe('');
          expect(line).not.toMatch(NO_GARBAGE);
        }
        const summary = timelineSummary(after, lang);
        expect(summary.trim()).not.toBe('');
        expect(summary).not.toMatch(NO_GARBAGE);
      }),
    );
  });

  it('when a draft the service could write is compared with itself, then nothing changed; with its segments shuffled out, each is reported removed', () => {
    check(
      fc.property(cleanDraft, (raw) => {
        const draft = parseDraft(raw);
        expect(diffDrafts(draft, draft)).toEqual([]);
        expect(diffDrafts(parseDraft(raw), parseDraft(structuredClone(raw)))).toEqual([]);
        const segments = draft.tracks.reduce((n, t) => n + t.segments.length, 0);
        const removed = diffDrafts(draft, parseDraft({ d: 0, t: [] }));
        expect(removed).toHaveLength(segments);
        expect(removed.every((c) => c.type === 'removed')).toBe(true);
      }),
    );
  });

  it('when change records of any shape are described, then describeChanges never throws and writes one line each', () => {
    const change = fc.record(
      {
        type: fc.constantFrom('added', 'removed', 'changed'),
        kind: fc.constantFrom('video', 'audio', 'text', 'other'),
        field: fc.constantFrom('timing', 'volume', 'text', 'name', undefined),
        name: words(8),
        text: words(8),
        startMs: fc.integer({ min: 0, max: 1e7 }),
        endMs: fc.integer({ min: 0, max: 1e7 }),
        beforeStartMs: fc.integer({ min: 0, max: 1e7 }),
        beforeEndMs: fc.integer({ min: 0, max: 1e7 }),
        before: words(8),
        after: words(8),
      },
      { requiredKeys: ['type', 'kind'] },
    ) as fc.Arbitrary<DraftChange>;
    check(
      fc.property(fc.array(change, { maxLength: 6 }), fc.constantFrom(...LANGS), (changes, lang) => {
        const lines = describeChanges(changes, lang);
        expect(lines).toHaveLength(changes.length);
        for (const line of lines) expect(line).not.toMatch(NO_GARBAGE);
      }),
    );
  });
});

// ───────────────────────────────────────────── the message normalizers ─────────────────────────────────────────────

const BOT = { id: 7_123_456_789, username: 'nemo_video_test_bot' };
const oddly = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 24, arbitrary: good }, { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) });
const tgText = fc.oneof(
  nasty,
  fc.constantFrom('@nemo_video_test_bot make a video', '/export@nemo_video_test_bot', '/export@other_bot', '/start', 'hi @NEMO_VIDEO_TEST_BOT, hello', '@nemo_video_test_bot'),
  fc.tuple(nasty, fc.constantFrom('@nemo_video_test_bot', '/help', '@someone'), nasty).map(([a, b, c]) => `${a}${b}${c}`),
);
const tgUser = fc.record(
  { id: fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), fc.constant(BOT.id)), is_bot: fc.constantFrom(false, false, false, true), username: fc.oneof(fc.constant(BOT.username), fc.string({ maxLength: 10 })), language_code: fc.constantFrom('en', 'zh-hans', 'de', '') },
  { requiredKeys: ['id'] },
);
const entity = fc.record(
  { type: fc.constantFrom('mention', 'bot_command', 'text_mention', 'bold', 'url'), offset: fc.integer({ min: 0, max: 60 }), length: fc.integer({ min: 0, max: 40 }), user: tgUser },
  { requiredKeys: ['type', 'offset', 'length'] },
);
const tgFile = fc.record(
  { file_id: fc.string({ minLength: 1, maxLength: 10 }), file_unique_id: fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }), file_size: fc.nat(), file_name: nasty, mime_type: fc.constantFrom('video/mp4', 'image/png', 'application/pdf', ''), width: fc.nat(4000), height: fc.nat(4000) },
  { requiredKeys: ['file_id', 'file_unique_id'] },
);
const tgMessage = fc.record(
  {
    message_id: oddly(fc.integer({ min: 1, max: 1e9 })),
    from: oddly(tgUser),
    // Now and then odd or missing, as on channel posts.
    chat: oddly(fc.record({ id: fc.integer({ min: -1e13, max: 1e13 }), type: fc.constantFrom('private', 'private', 'group', 'supergroup', 'channel'), is_forum: fc.boolean() }, { requiredKeys: ['id', 'type'] })),
    message_thread_id: oddly(fc.integer({ min: 1, max: 1e6 })),
    is_topic_message: oddly(fc.boolean()),
    text: oddly(tgText),
    entities: oddly(fc.array(entity, { maxLength: 4 })),
    caption: oddly(tgText),
    caption_entities: oddly(fc.array(entity, { maxLength: 3 })),
    media_group_id: oddly(fc.string({ maxLength: 6 })),
    reply_to_message: oddly(fc.record({ message_id: fc.integer({ min: 1, max: 1e6 }), from: tgUser, forum_topic_created: fc.constant({}) }, { requiredKeys: ['message_id'] })),
    document: oddly(tgFile),
    video: oddly(tgFile),
    video_note: oddly(tgFile),
    animation: oddly(tgFile),
    photo: oddly(fc.array(tgFile, { maxLength: 3 })),
    audio: oddly(tgFile),
    voice: oddly(tgFile),
    sticker: fc.anything({ maxDepth: 1 }),
  },
  { requiredKeys: ['message_id', 'chat', 'from'] },
);

const noOpen = (): never => {
  throw new Error('a normalizer must not open a file');
};
const extras = { attachment: (file: { name: string; mimeType: string; size?: number }): Attachment => ({ name: file.name, mimeType: file.mimeType, size: file.size ?? 0, open: noOpen }) };

describe('fuzz: the message normalizers', () => {
  it('when Telegram sends any update-shaped message, then validation drops the malformed, and normalizing the rest never throws, names files safely and answers privately always', () => {
    let normalized = 0;
    check(
      fc.property(tgMessage, (raw) => {
        const parsed = TelegramMessageSchema.safeParse(raw);
        if (!parsed.success) return;
        const message = parsed.data;
        const out = normalizeMessage(message, BOT);
        if (out === undefined) return;
        normalized += 1;
        expect(message.chat.type).not.toBe('channel');
        expect(out.chatId).toBe(String(message.chat.id));
        expect(out.userId).toBe(String(message.from?.id));
        expect(message.from?.is_bot).not.toBe(true);
        if (message.chat.type === 'private') expect(out.addressed).toBe(true);
        if (out.threadId !== undefined) expect(message.is_topic_message).toBe(true);
        for (const file of out.files) {
          expect(file.name.length).toBeGreaterThan(0);
          expect(file.name.length).toBeLessThanOrEqual(200);
          // eslint-disable-next-line no-control-regex
          expect(file.name).not.toMatch(/[\u0000-\u001f\u007f/\\]/);
        }
        expect(out.text.trim() !== '' || out.files.length > 0).toBe(true);
        const incoming = toIncomingMessage(out, extras);
        expect(incoming.address).toEqual(addressOf(out));
        expect(incoming.attachments).toHaveLength(out.files.length);
        const album = mergeAlbum([out, { ...out, messageId: out.messageId + 1 } as NormalizedMessage]);
        expect(album?.files).toHaveLength(out.files.length * 2);
      }),
    );
    // The generator must reach the normalizer, not only the validator.
    expect(normalized).toBeGreaterThan(RUNS / 8);
  });

  it('when Discord messages, slash commands and buttons carry any content, then the normalizers never throw, strip the mention and address DMs', () => {
    const botUserId = '123456789012345678';
    const options: NormalizeOptions = { botUserId, freeTextInGuilds: false, interactionTokenTtlMs: 14 * 60_000, download: { maxBytes: 50 * 1024 * 1024 }, now: () => 1_700_000_000_000 };
    const snowflake = fc.oneof(fc.constant(botUserId), fc.bigInt({ min: 10n ** 16n, max: 10n ** 19n }).map(String));
    const attachmentMeta = fc.record({ name: nasty, url: fc.webUrl(), size: fc.nat(), contentType: fc.option(fc.constantFrom('video/mp4', 'image/png; charset=x', ''), { nil: null }) });
    const content = fc.oneof(nasty, fc.tuple(nasty, fc.constantFrom(`<@${botUserId}>`, `<@!${botUserId}>`, '<@42>'), nasty).map(([a, b, c]) => `${a}${b}${c}`));
    check(
      fc.property(
        fc.record({ guildId: fc.option(snowflake, { nil: null }), mentioned: fc.array(snowflake, { maxLength: 3 }), replied: fc.option(snowflake, { nil: null }), channelId: snowflake, author: snowflake, thread: fc.boolean(), content, files: fc.array(attachmentMeta, { maxLength: 3 }) }),
        fc.record({ command: fc.oneof(fc.constantFrom('video', 'export', 'help'), fc.string({ maxLength: 8 })), prompt: fc.option(nasty, { nil: null }), file: fc.option(attachmentMeta, { nil: null }), created: fc.integer({ min: 0, max: 2_000_000_000_000 }), locale: fc.constantFrom('en-US', 'zh-CN', 'de'), limit: fc.option(fc.integer({ min: -1, max: 1e9 }), { nil: undefined }) }),
        (m, c) => {
          const message = {
            guildId: m.guildId,
            mentions: { users: new Map(m.mentioned.map((id) => [id, { id }])), repliedUser: m.replied === null ? null : { id: m.replied } },
            channelId: m.channelId,
            author: { id: m.author },
            channel: { isThread: () => m.thread },
            content: m.content,
            attachments: new Map(m.files.map((file, i) => [String(i), file])),
          } as unknown as Message;
          const incoming = discordIncoming(normalizeDiscordMessage(message, options), options.download);
          expect(incoming.platform).toBe('discord');
          expect(incoming.chatId).toBe(m.channelId);
          if (m.guildId === null) expect(incoming.addressed).toBe(true);
          expect(incoming.text).not.toContain(`<@${botUserId}>`);
          expect(incoming.text).not.toContain(`<@!${botUserId}>`);
          expect(incoming.text).toBe(incoming.text.trim());
          expect(incoming.attachments).toHaveLength(m.files.length);
          expect(stripMention(incoming.text, botUserId)).toBe(incoming.text);

          const interaction = {
            commandName: c.command,
            options: { getString: () => c.prompt, getAttachment: () => c.file },
            createdTimestamp: c.created,
            guildId: m.guildId,
            token: 'interaction-token',
            applicationId: '999',
            attachmentSizeLimit: c.limit,
            channelId: m.channelId,
            channel: { isThread: () => m.thread },
            user: { id: m.author },
            locale: c.locale,
          };
          const command = discordIncoming(normalizeCommand(interaction as unknown as ChatInputCommandInteraction, options), options.download);
          expect(command.addressed).toBe(true);
          expect(command.text).toBe(c.command === 'video' ? (c.prompt ?? '') : `/${c.command}`);
          expect(command.address.extra?.interactionExpiresAt).toBe(Math.min(c.created, 1_700_000_000_000) + options.interactionTokenTtlMs);
          const button = discordIncoming(normalizeButton(interaction as unknown as ButtonInteraction, 'export', { ownerId: m.author, chatId: m.channelId }, options), options.download);
          expect(button.text).toBe('/export');
        },
      ),
    );
  });
});

// ───────────────────────────────────────────── no token in any output ─────────────────────────────────────────────

const tokenBody = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'), minLength: 16, maxLength: 48 });
const nemoToken = tokenBody.map((body) => `nmv_usr_${body}`);
const telegramToken = fc.tuple(fc.integer({ min: 10_000_000, max: 9_999_999_999 }), fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'), minLength: 35, maxLength: 35 })).map(([id, secret]) => `${id}:${secret}`);
/** Text around a planted secret: anything, but a separator first, as logs and messages have. */
const around = fc.tuple(nasty, fc.constantFrom(' ', '\n', '"', '=', ': ', '(', '/', ''), fc.constantFrom(' ', '\n', '"', '.', ',', ')', ''), nasty);
const placements = (secret: string, [before, open, close, after]: [string, string, string, string]) => `${before}${open}${secret}${close}${after}`;

/** The part of a secret that must never show (the `nmv_usr_` prefix alone is harmless). */
const secretPart = (token: string): string => token.replace(/^nmv_usr_/, '');

describe('fuzz: no token in any output', () => {
  it('when a NemoVideo token, a bot token, a Bearer header or a token URL sits anywhere in a text, then scrubSecrets removes it and redactTokens removes the NemoVideo one', () => {
    check(
      fc.property(nemoToken, telegramToken, around, around, fc.constantFrom('plain', 'json', 'url'), (nemo, bot, a, b, form) => {
        const raw = `${placements(nemo, a)} Authorization: Bearer ${nemo}x ${placements(`https://api.telegram.org/bot${bot}/sendMessage`, b)} ${placements(bot, b)} ?token=${secretPart(nemo)}&x=1`;
        const text = form === 'json' ? JSON.stringify({ msg: raw, nested: { raw } }) : form === 'url' ? uriEncoded(raw) : raw;
        const scrubbed = scrubSecrets(text);
        expect(scrubbed).not.toContain(secretPart(nemo));
        expect(scrubbed).not.toContain(bot.split(':')[1]);
        expect(redactTokens(placements(nemo, a))).not.toContain(secretPart(nemo));
      }),
    );
  });

  it('when any failure carries a token in its message, its cause or the service\'s words, then the error texts and the reply to the user never show it', () => {
    const failure = fc.tuple(nemoToken, around, fc.integer({ min: 0, max: 9 }), fc.integer({ min: 100, max: 599 }), fc.option(fc.constantFrom(1001, 1002, 2001, 4001, 4002, 429, 9999), { nil: undefined })).map(([token, ctx, kind, status, nemoCode]) => {
      const text = placements(token, ctx);
      const errors: unknown[] = [
        new NemoApiError({ status, nemoCode, endpoint: '/run_sse', serviceMessage: text }),
        new NemoNetworkError('/api/credits/balance/simple', new Error(text)),
        new NemoStreamError('nemo_stream_broken', text, new Error(text)),
        new NemoInputError(kind % 2 === 0 ? 'unsupported_file' : 'file_too_large', text),
        new AnonymousTokenRefusedError(new NemoApiError({ status, endpoint: '/api/auth/anonymous-token', serviceMessage: text })),
        new Error(text),
        text,
        { message: text },
        Object.assign(new Error('boom'), { token: text }),
        undefined,
      ];
      return { token, error: errors[kind] };
    });
    check(
      fc.property(failure, fc.constantFrom(...LANGS), fc.boolean(), fc.option(fc.stringMatching(/^anon_[a-z0-9]{4,12}$/), { nil: undefined }), ({ token, error }, lang, anonymous, nemoUserId) => {
        const reply = errorReply(error, lang, { webUrl: 'https://nemovideo.com', anonymous, nemoUserId, fileName: 'clip.mp4' });
        expect(reply.trim()).not.toBe('');
        expect(reply).not.toContain(secretPart(token));
        if (error instanceof NemoApiError || error instanceof NemoNetworkError) expect(error.message).not.toContain(secretPart(token));
      }),
    );
  });

  it('when log lines carry tokens in the message, in nested fields, in errors and in URLs, then nothing the logger writes contains one', () => {
    let written = '';
    const sink = { write: (line: string) => void (written += line) };
    const configured = 'operator-secret-value-0123456789';
    const logger = createLogger({ level: 'info', destination: sink, secrets: [configured] });
    check(
      fc.property(nemoToken, telegramToken, around, fc.constantFrom('msg', 'field', 'error', 'url', 'header', 'configured'), (nemo, bot, ctx, where) => {
        written = '';
        const text = placements(nemo, ctx);
        switch (where) {
          case 'msg':
            logger.info(`calling NemoVideo with ${text}`);
            break;
          case 'field':
            logger.info({ details: { note: text, list: [text] } }, 'a field');
            break;
          case 'error':
            logger.error({ err: new Error(text) }, 'failed');
            break;
          case 'url':
            logger.warn({ url: `https://api.telegram.org/bot${bot}/getUpdates?offset=1` }, `GET /file/bot${bot}/photos/1.jpg`);
            break;
          case 'header':
            logger.info({ headers: { authorization: `Bearer ${nemo}`, 'x-other': text } }, 'request');
            break;
          case 'configured':
            logger.info({ value: `${ctx[0]}${configured}${ctx[3]}` }, `with ${configured}`);
            break;
        }
        expect(written).not.toBe('');
        expect(written).not.toContain(secretPart(nemo));
        expect(written).not.toContain(bot.split(':')[1]);
        expect(written).not.toContain(configured);
      }),
    );
  });
});

// Pieces that make a backtracking pattern rescan: long runs of one token class, editor verbs
// without their object, half-built tokens. 100,000 characters; quadratic code takes minutes.
const HOSTILE_PIECES = ['1', 'a', 'Z', '_', '-', '.', ':', ' ', ',', 'nmv_', 'Bearer ', '/bot1', 'press ', 'open ', 'check ', 'click', '打开', '查看', '可以', '，', '。', '\n'];
const hostileText = fc
  .tuple(fc.array(fc.constantFrom(...HOSTILE_PIECES), { minLength: 1, maxLength: 8 }), fc.array(fc.nat({ max: 20_000 }), { minLength: 1, maxLength: 8 }))
  .map(([pieces, repeats]) => {
    let text = '';
    for (let i = 0; text.length < 100_000; i++) text += (pieces[i % pieces.length] ?? 'a').repeat(1 + (repeats[i % repeats.length] ?? 0));
    return text.slice(0, 100_000);
  });

describe('fuzz: linear time on hostile text', () => {
  it('when a 100,000-character text is built from runs that make backtracking patterns rescan, then scrubbing and GUI-word translation each finish within a second', () => {
    check(
      fc.property(hostileText, (text) => {
        let started = performance.now();
        scrubSecrets(text);
        const scrubMs = performance.now() - started;
        started = performance.now();
        translateAgentText(text);
        const translateMs = performance.now() - started;
        // Linear code takes a few ms here; quadratic code took 10 s on 40,000 digits.
        expect(scrubMs).toBeLessThan(1_000);
        expect(translateMs).toBeLessThan(1_000);
      }),
      200,
    );
  });
});

/** encodeURI, or the text itself when it holds a lone surrogate (which encodeURI refuses). */
function uriEncoded(text: string): string {
  try {
    return encodeURI(text);
  } catch {
    return text;
  }
}

function safeStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
