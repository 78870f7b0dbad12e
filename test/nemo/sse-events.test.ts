import { describe, expect, it } from 'vitest';
import { turnEventsFromPayloads } from '../../src/nemo/sse-events.js';
import { turnEventsFromSse } from '../../src/nemo/turn-stream.js';
import { adk, errorFrame, toSnakeCase } from '../fakes/nemo/index.js';

const json = (value: unknown): string => JSON.stringify(value);
const frame = (value: unknown): string => `data: ${json(value)}\n\n`;

/** Every way of cutting a text in two, to prove chunk boundaries never matter. */
function everySplit(text: string): string[][] {
  const splits: string[][] = [];
  for (let at = 0; at <= text.length; at += 1) splits.push([text.slice(0, at), text.slice(at)]);
  return splits;
}

describe('turnEventsFromSse', () => {
  it('when a turn is cut into chunks at every possible byte, then the events are the same', () => {
    const turn = adk.turn();
    const stream =
      frame(turn.call('generate_video_with_seedance', { prompt: 'a cat' }, 'c1', 'Generating the clip now.')) +
      ': keep-alive\n\n' +
      frame(turn.response('generate_video_with_seedance', { ok: true }, 'c1')) +
      frame(turn.text('Here is your cat video.'));
    const whole = turnEventsFromSse([stream]);
    expect(whole).toEqual([
      { type: 'text', text: 'Generating the clip now.', author: 'nemo_agent' },
      { type: 'tool_call', id: 'c1', name: 'generate_video_with_seedance', args: { prompt: 'a cat' } },
      { type: 'keepalive' },
      { type: 'tool_result', id: 'c1', name: 'generate_video_with_seedance', response: { ok: true } },
      { type: 'text', text: 'Here is your cat video.', author: 'nemo_agent' },
    ]);
    for (const chunks of everySplit(stream)) expect(turnEventsFromSse(chunks)).toEqual(whole);
  });

  it('when the stream uses CRLF line ends, split between CR and LF, then the events are the same as with LF', () => {
    const event = adk.text('Bonjour');
    const crlf = `data: ${json(event)}\r\n\r\n:ping\r\n\r\n`;
    const cut = crlf.indexOf('\r\n') + 1;
    expect(turnEventsFromSse([crlf.slice(0, cut), crlf.slice(cut)])).toEqual([
      { type: 'text', text: 'Bonjour', author: 'nemo_agent' },
      { type: 'keepalive' },
    ]);
  });

  it('when keep-alives come in every style, then each is a keepalive and nothing else', () => {
    const stream = ': comment\n\n' + 'data:\n\n' + 'data: \n\n' + frame({ type: 'heartbeat' }) + 'event: heartbeat\ndata: {}\n\n';
    expect(turnEventsFromSse([stream])).toEqual(Array.from({ length: 5 }, () => ({ type: 'keepalive' })));
  });

  it('when the server closes after a last frame without its blank line, then that frame is still read', () => {
    expect(turnEventsFromSse([`data: ${json(adk.text('last words'))}`])).toEqual([
      { type: 'text', text: 'last words', author: 'nemo_agent' },
    ]);
  });

  it('when an event has extra SSE fields (event name, id, retry), then the payload is still mapped', () => {
    const stream = `id: 7\nretry: 1000\nevent: message\ndata: ${json(adk.text('hi'))}\n\n`;
    expect(turnEventsFromSse([stream])).toEqual([{ type: 'text', text: 'hi', author: 'nemo_agent' }]);
  });
});

describe('turnEventsFromPayloads', () => {
  it('when partial events precede the final one, then partials carry the new pieces and the final text comes whole', () => {
    const events = turnEventsFromPayloads([
      json(adk.text('Hel', { partial: true })),
      json(adk.text('lo', { partial: true })),
      json(adk.text('Hello')),
    ]);
    expect(events).toEqual([
      { type: 'partial', text: 'Hel' },
      { type: 'partial', text: 'lo' },
      { type: 'text', text: 'Hello', author: 'nemo_agent' },
    ]);
  });

  it('when one event has several text parts, then they are one text joined with nothing between, as ADK and Gemini mean them', () => {
    const events = turnEventsFromPayloads([
      json(adk.textParts(['The title ', 'is now ', '"Paradise Found".'])),
      json(adk.textParts(['你好，', '视频', ' 🎬'])),
    ]);
    expect(events).toEqual([
      { type: 'text', text: 'The title is now "Paradise Found".', author: 'nemo_agent' },
      { type: 'text', text: '你好，视频 🎬', author: 'nemo_agent' },
    ]);
  });

  it('when text parts surround a function call in one event, then the text before and after are separate texts around the call', () => {
    const event = adk.textParts(['Generating ', 'the clip.']);
    (event.content as { parts: unknown[] }).parts.push({ functionCall: { id: 'c1', name: 'generate_video_with_seedance', args: {} } }, { text: 'Started.' });
    expect(turnEventsFromPayloads([json(event)]).map((e) => e.type + (e.type === 'text' ? `:${e.text}` : ''))).toEqual([
      'text:Generating the clip.',
      'tool_call',
      'text:Started.',
    ]);
  });

  it('when a streamed piece is only the space between two words, then the preview keeps it', () => {
    const events = turnEventsFromPayloads([
      json(adk.text('Hello', { partial: true })),
      json(adk.text(' ', { partial: true })),
      json(adk.text('world', { partial: true })),
    ]);
    expect(events.map((e) => (e.type === 'partial' ? e.text : e.type)).join('')).toBe('Hello world');
  });

  it('when a partial event holds a function call, then the call is ignored', () => {
    const call = { ...adk.call('edit_multitrack', { op: 'cut' }, 'p1'), partial: true };
    expect(turnEventsFromPayloads([json(call)])).toEqual([]);
  });

  it('when parts are thoughts or the author is the user, then no text is shown', () => {
    const events = turnEventsFromPayloads([
      json(adk.text('secret reasoning', { thought: true })),
      json(adk.text('my own message', { author: 'user' })),
      json(adk.text('draft thought', { thought: true, partial: true })),
      json(adk.text('Visible')),
    ]);
    expect(events).toEqual([{ type: 'text', text: 'Visible', author: 'nemo_agent' }]);
  });

  it('when the same event id arrives twice, then it is mapped once', () => {
    const event = adk.text('Once');
    const events = turnEventsFromPayloads([json(event), json({ ...event, actions: { artifactDelta: { 'a.mp4': 1 } } })]);
    expect(events).toEqual([{ type: 'text', text: 'Once', author: 'nemo_agent' }]);
  });

  it('when a partial and the final event share an id, then the final event is not dropped as a repeat', () => {
    const final = adk.text('Done');
    const partial = { ...adk.text('Do', { partial: true }), id: final.id };
    expect(turnEventsFromPayloads([json(partial), json(final)])).toEqual([
      { type: 'partial', text: 'Do' },
      { type: 'text', text: 'Done', author: 'nemo_agent' },
    ]);
  });

  it('when an older server writes snake_case keys, then calls, results and model errors are still read', () => {
    const call = toSnakeCase(adk.call('edit_multitrack', { track: 1 }, 'c9'));
    call.content = { role: 'model', parts: [{ function_call: { id: 'c9', name: 'edit_multitrack', args: { track: 1 } } }] };
    const result = toSnakeCase(adk.response('edit_multitrack', { ok: 1 }, 'c9'));
    result.content = { role: 'user', parts: [{ function_response: { id: 'c9', name: 'edit_multitrack', response: { ok: 1 } } }] };
    const failure = toSnakeCase(adk.modelError('SAFETY', 'blocked'));
    expect(failure).toHaveProperty('error_code', 'SAFETY');
    expect(turnEventsFromPayloads([json(call), json(result), json(failure)])).toEqual([
      { type: 'tool_call', id: 'c9', name: 'edit_multitrack', args: { track: 1 } },
      { type: 'tool_result', id: 'c9', name: 'edit_multitrack', response: { ok: 1 } },
      { type: 'model_error', code: 'SAFETY', message: 'blocked' },
    ]);
  });

  it('when the model reports an errorCode, then a model_error is produced', () => {
    expect(turnEventsFromPayloads([json(adk.modelError('SAFETY', 'Blocked by safety filters'))])).toEqual([
      { type: 'model_error', code: 'SAFETY', message: 'Blocked by safety filters' },
    ]);
  });

  it('when a frame is not JSON, then it is a server_error and later frames are still read', () => {
    const events = turnEventsFromPayloads(['{not json', json(adk.text('after'))]);
    expect(events[0]).toMatchObject({ type: 'server_error' });
    expect(events[0]?.type === 'server_error' && events[0].message).toContain('{not json');
    expect(events[1]).toEqual({ type: 'text', text: 'after', author: 'nemo_agent' });
  });

  it('when an error frame comes in the 1.x or the 2.x style, then it is a server_error with its text', () => {
    expect(turnEventsFromPayloads([json(errorFrame('backend exploded'))])).toEqual([{ type: 'server_error', message: 'backend exploded' }]);
    expect(turnEventsFromPayloads([json({ error_details: { error_type: 'X', error_message: 'only details' }, error: '' })])).toEqual([
      { type: 'server_error', message: 'only details' },
    ]);
  });

  it('when an event has an error field and an author, then it is an ADK event, not an error frame', () => {
    expect(turnEventsFromPayloads([json({ ...adk.text('fine'), error: 'ignored' })])).toEqual([
      { type: 'text', text: 'fine', author: 'nemo_agent' },
    ]);
  });

  it('when events carry unknown fields, unknown parts or actions only, then they are ignored without error', () => {
    const odd = adk.text('kept');
    (odd.content as { parts: unknown[] }).parts.unshift({ inlineData: { mimeType: 'image/png', data: 'AAAA' } }, { someFuturePart: 1 }, 'junk');
    const events = turnEventsFromPayloads([
      json({ ...odd, futureField: { x: 1 } }),
      json(adk.actionsOnly({ progress: 1 })),
      json({ author: 'nemo_agent', content: 'not an object' }),
      json([1, 2, 3]),
      json('a string'),
    ]);
    expect(events).toEqual([
      { type: 'text', text: 'kept', author: 'nemo_agent' },
      { type: 'keepalive' },
      { type: 'keepalive' },
    ]);
  });

  it('when an id is a number too large for a double, then events with different digits are not merged', () => {
    const a = '{"id":12345678901234567890,"author":"nemo_agent","content":{"role":"model","parts":[{"text":"a"}]}}';
    const b = '{"id":12345678901234567891,"author":"nemo_agent","content":{"role":"model","parts":[{"text":"b"}]}}';
    expect(turnEventsFromPayloads([a, b]).map((event) => event.type === 'text' && event.text)).toEqual(['a', 'b']);
  });
});
