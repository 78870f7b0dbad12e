import { afterEach, describe, expect, it } from 'vitest';
import { adkTurn } from '../fakes/nemo/index.js';
import { startConsoleBot, type ConsoleBot } from './console-harness.js';

// A generated clip is shown as soon as the agent's tool result names it, before the answer and
// long before an export; from the project state when the result did not.

let bot: ConsoleBot | undefined;

afterEach(async () => {
  if (!bot) return;
  const { fake } = bot;
  await bot.close();
  bot = undefined;
  expect(fake.violations).toEqual([]);
});

describe('previews of generated clips', () => {
  it('when the agent generates a clip, then its URL is shown at once as the raw clip, before the answer', async () => {
    bot = await startConsoleBot();
    await bot.say('/help', /\/export/);
    const out = await bot.say('generate a video of a red fox in snow', /Raw clip, as generated \(export for the final cut\)/);
    expect(out).toMatch(new RegExp(`${bot.fake.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/cdn/generated/[^\\s]+\\.mp4`));
  });

  it('when a generate result has no URL but the project state lists the clip, then the newest one is shown', async () => {
    bot = await startConsoleBot();
    await bot.say('/help', /\/export/);
    // A first turn makes the project (the session) the state belongs to.
    const first = adkTurn();
    bot.fake.scriptTurn({ frames: [{ kind: 'event', event: first.text('Hello there.') }] });
    await bot.say('hello', /Hello there/);
    const adk = adkTurn();
    bot.fake.scriptTurn({
      frames: [
        { kind: 'event', event: adk.call('generate_video_with_seedance', { prompt: 'a boat' }) },
        { kind: 'event', event: adk.response('generate_video_with_seedance', { status: 'success' }) },
        { kind: 'event', event: adk.text('Here is your boat.') },
      ],
    });
    const sessions = [...bot.fake.sessions.keys()];
    expect(sessions).toHaveLength(1);
    for (const id of sessions) {
      bot.fake.setGeneratedMedia(id, [
        { kind: 'video', url: 'https://cdn.nemo.test/generated/old.mp4' },
        { kind: 'video', url: 'https://cdn.nemo.test/generated/boat.mp4' },
      ]);
    }
    const out = await bot.say('make a boat clip', /Here is your boat/);
    await bot.waitOutput(/generated\/boat\.mp4/, 0);
    expect(out + bot.output()).not.toContain('generated/old.mp4');
  });

  it('when a turn only edits, then no preview shows', async () => {
    bot = await startConsoleBot();
    await bot.say('/help', /\/export/);
    const adk = adkTurn();
    bot.fake.scriptTurn({ frames: [{ kind: 'event', event: adk.response('edit_multitrack', { ok: true, url: 'https://cdn.nemo.test/page.html' }) }, { kind: 'event', event: adk.text('Done editing.') }] });
    const out = await bot.say('make the title red', /Done editing/);
    expect(out).not.toMatch(/Raw clip/);
  });
});
