import { afterEach, describe, expect, it } from 'vitest';
import { modelErrorKind } from '../../src/core/turn-runner.js';
import { adkTurn, textTrack, withTracks, emptyDraft } from '../fakes/nemo/index.js';
import { startConsoleBot, type ConsoleBot } from '../e2e/console-harness.js';

// How a chat turn reads an agent's stream, through the whole bot (the terminal chat) against
// the fake NemoVideo: what the person sees for each unusual way a turn can end.

let bot: ConsoleBot | undefined;

afterEach(async () => {
  if (!bot) return;
  const { fake } = bot;
  await bot.close();
  bot = undefined;
  expect(fake.violations).toEqual([]);
});

const titled = (text: string) => withTracks(emptyDraft(), textTrack(text, 0, 3000));

async function ready(options: Parameters<typeof startConsoleBot>[0] = {}): Promise<ConsoleBot> {
  bot = await startConsoleBot(options);
  await bot.say('/help', /\/export/);
  return bot;
}

describe('model errors (errorCode events) are sorted, never quoted', () => {
  it('when the model refuses on content policy (SAFETY), then the user hears it was declined, without the vendor text, and no "Done"', async () => {
    const b = await ready();
    const adk = adkTurn();
    b.fake.scriptTurn({ frames: [{ kind: 'event', event: adk.modelError('SAFETY', 'vendor-internal: category HARM_X prob HIGH') }] });
    const out = await b.say('something edgy', /declined that request/);
    await b.waitOutput(/Stopped: the video agent hit a problem/, 0);
    expect(out).not.toContain('vendor-internal');
    expect(out).not.toContain('SAFETY');
    expect(b.edits()).not.toContain('Done.');
  });

  for (const code of ['429', '503', 'UNKNOWN_ERROR', 'MALFORMED_FUNCTION_CALL']) {
    it(`when the model fails with ${code}, then it is a temporary problem: the change made is reported and the user may try again shortly`, async () => {
      const b = await ready();
      const adk = adkTurn();
      b.fake.scriptTurn({
        frames: [
          { kind: 'event', event: adk.call('edit_multitrack', { action: 'add_text' }) },
          { kind: 'apply-draft' },
          { kind: 'event', event: adk.response('edit_multitrack', { ok: true }) },
          { kind: 'event', event: adk.modelError(code, 'Max number of llm calls limit of 500 exceeded') },
        ],
        draftAfter: titled('Half Done Title'),
      });
      const out = await b.say('add a title', /temporary problem/);
      await b.waitOutput(/Stopped: the video agent hit a problem/, 0);
      expect(out).toMatch(/try again in a moment/);
      // The state was read: what the agent did before failing is reported.
      expect(out).toMatch(/Half Done Title/);
      expect(out).not.toMatch(/declined/);
      expect(out).not.toContain('llm calls');
    });
  }

  it('when MAX_TOKENS comes with the whole text, then the text is shown and said to be cut short, not refused', async () => {
    const b = await ready();
    const adk = adkTurn();
    b.fake.scriptTurn({ frames: [{ kind: 'event', event: adk.modelError('MAX_TOKENS', 'limit reached', 'A long plan: scene one, scene two') }] });
    const out = await b.say('plan it', /cut short/);
    expect(out).toContain('A long plan: scene one, scene two');
    expect(out).not.toMatch(/declined|temporary problem/);
  });

  it('when the user writes Chinese, then the temporary problem is told in Chinese', async () => {
    const b = await ready();
    const adk = adkTurn();
    b.fake.scriptTurn({ frames: [{ kind: 'event', event: adk.modelError('503', 'overloaded') }] });
    const out = await b.say('把标题改成红色', /视频助手遇到临时问题/);
    expect(out).not.toContain('overloaded');
  });

  it('classifies the codes of Gemini and ADK', () => {
    for (const code of ['SAFETY', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'RECITATION', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT']) {
      expect(modelErrorKind(code, false)).toBe('refusal');
    }
    for (const code of ['429', '503', '500', 'UNKNOWN_ERROR', 'MALFORMED_FUNCTION_CALL', 'OTHER']) expect(modelErrorKind(code, true)).toBe('trouble');
    expect(modelErrorKind('MAX_TOKENS', true)).toBe('cut_short');
    expect(modelErrorKind('MAX_TOKENS', false)).toBe('trouble');
  });
});

describe('an unknown session', () => {
  it('when an ADK server answers 404 "Session not found" with no code, then a fresh project starts, the user is told, and the message goes through once', async () => {
    const b = await ready();
    await b.say('credits', /100 available/);
    const [first] = [...b.fake.sessions.keys()];
    b.fake.failNext('run_sse', { status: 404, body: { error: `Session not found: ${first}` } });
    const out = await b.say('hello there', /Happy to help with: hello there/);
    expect(out).toMatch(/started a fresh one/);
    expect(b.fake.sessions.size).toBe(2);
    expect(b.fake.sseCalls.map((call) => call.sessionId)).not.toContain(first);
  });
});

describe('an error frame after some text', () => {
  it('when the agent fails after writing, then its text is shown, the user is told it hit a problem, the state is checked, and "Done" is never said', async () => {
    const b = await ready();
    const adk = adkTurn();
    b.fake.scriptTurn({
      frames: [
        { kind: 'event', event: adk.text('Adding the title now.') },
        { kind: 'event', event: adk.call('edit_multitrack', { action: 'add_text' }) },
        { kind: 'apply-draft' },
        { kind: 'error', message: 'Traceback: secret internals' },
      ],
      draftAfter: titled('Frame Title'),
    });
    const from = b.output().length;
    await b.say('add a title', /Your request went through/);
    const out = b.output().slice(from);
    expect(out).toContain('Adding the title now.');
    expect(out).toMatch(/hit a problem\. Checking whether your request went through/);
    expect(out).toMatch(/Frame Title/);
    expect(out).not.toContain('secret internals');
    // "Done." may close the recovered turn only after the check, never right after the error frame
    // (the terminal does not print it: the edits show the order).
    const edits = b.edits();
    expect(edits.some((text) => /Checking whether/.test(text))).toBe(true);
    expect(edits.indexOf('Done.')).toBeGreaterThan(edits.findIndex((text) => /Checking whether/.test(text)));
    expect(b.fake.sseCalls).toHaveLength(1);
  });

  it('when the agent fails and nothing changed, then the user is told the result could not be confirmed', async () => {
    const b = await ready();
    const adk = adkTurn();
    b.fake.scriptTurn({ frames: [{ kind: 'event', event: adk.text('Let me try.') }, { kind: 'error', message: 'boom' }] });
    const from = b.output().length;
    await b.say('do something', /Send it again/);
    const out = b.output().slice(from);
    expect(out).toContain('Let me try.');
    expect(b.edits()).not.toContain('Done.');
  });
});

describe('texts and previews', () => {
  it('when one event has several text parts, then the user reads them as one text, not as paragraphs', async () => {
    const b = await ready();
    const adk = adkTurn();
    b.fake.scriptTurn({ frames: [{ kind: 'event', event: adk.textParts(['The title ', 'is now ', '"Paradise Found".']) }] });
    const out = await b.say('rename the title', /Paradise Found/);
    expect(out).toContain('The title is now "Paradise Found".');
  });

  it('when the stream ends after streamed preview text only, then the preview is shown marked incomplete', async () => {
    const b = await ready();
    const adk = adkTurn();
    b.fake.scriptTurn({
      frames: [
        { kind: 'event', event: adk.text('Here is a plan: ', { partial: true }) },
        { kind: 'event', event: adk.text('first the intro', { partial: true }) },
      ],
    });
    const out = await b.say('plan a video', /incomplete/);
    expect(out).toContain('Here is a plan: first the intro');
    expect(out).toMatch(/incomplete: the answer stopped here/);
  });

  it('when an error event comes after streamed preview text only, then the preview is shown marked incomplete beside the error', async () => {
    const b = await ready();
    const adk = adkTurn();
    b.fake.scriptTurn({
      frames: [
        { kind: 'event', event: adk.text('Writing the scr', { partial: true }) },
        { kind: 'event', event: adk.text('ipt', { partial: true }) },
        { kind: 'event', event: adk.modelError('UNKNOWN_ERROR', 'Unknown error.') },
      ],
    });
    const out = await b.say('write a script', /temporary problem/);
    expect(out).toContain('Writing the script');
    expect(out).toMatch(/incomplete/);
  });

  it('when an error frame comes after streamed preview text only, then the preview is shown marked incomplete and the state is checked', async () => {
    const b = await ready();
    const adk = adkTurn();
    b.fake.scriptTurn({
      frames: [{ kind: 'event', event: adk.text('Half a sent', { partial: true }) }, { kind: 'error', message: 'crash' }],
    });
    const out = await b.say('go on', /Send it again/);
    expect(out).toContain('Half a sent');
    expect(out).toMatch(/incomplete/);
  });
});
