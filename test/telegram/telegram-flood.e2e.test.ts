import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { inboxKey } from '../../src/core/inbox.js';
import { adk } from '../fakes/nemo/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;
let probe: Redis | undefined;

afterEach(async () => {
  probe?.disconnect();
  probe = undefined;
  if (!rig) return;
  await closeAndCheck(rig);
  rig = undefined;
});

describe('telegram flood control, default limits', () => {
  it('when a person sends 300 messages during one turn, then at most 3 more turns reach the agent, they get a few notices, not 300, and another person is answered', async () => {
    rig = await startTelegramRig({ worker: false });
    const r = rig;
    const { tg, nemo } = r;
    probe = new Redis(r.redisUrl);
    const flooder = tg.user({ firstName: 'Flooder', languageCode: 'en' });
    const floodChat = tg.privateChat(flooder);
    const other = tg.user({ firstName: 'Other', languageCode: 'en' });
    const otherChat = tg.privateChat(other);
    tg.say(floodChat, flooder, { text: '/start' });
    tg.say(otherChat, other, { text: '/start' });
    await r.waitSent(floodChat.id, /^Hi! I make/);
    await r.waitSent(otherChat.id, /^Hi! I make/);

    let release: () => void = () => undefined;
    const until = new Promise<void>((resolve) => (release = resolve));
    nemo.scriptTurn({ frames: [{ kind: 'wait', until }, { kind: 'event', event: adk.text('Held answer.') }] });
    tg.say(floodChat, flooder, { text: 'flood first' });
    await waitFor(() => nemo.sseCalls.some((call) => call.text === 'flood first'), { message: 'the held turn at the agent' });
    const from = r.sentTo(floodChat.id).length;

    for (let i = 1; i <= 300; i++) tg.say(floodChat, flooder, { text: `flood ${i}` });
    tg.say(otherChat, other, { text: 'a calm question from someone else' });
    await r.waitSent(otherChat.id, /Happy to help with: a calm question from someone else/, { timeoutMs: 30_000 });
    // Every update taken and handled: none left unconfirmed, none left in the inbox.
    await waitFor(async () => tg.unconfirmed() === 0 && (await probe!.hlen(inboxKey(r.prefix))) === 0, {
      timeoutMs: 60_000,
      message: 'all 300 updates handled',
    });

    const notices = r.sentTo(floodChat.id).slice(from).map((m) => m.text ?? '');
    expect(notices.filter((text) => /^Got it\./.test(text))).toHaveLength(3);
    expect(notices.filter((text) => /^You have 3 messages waiting/.test(text))).toHaveLength(1);
    expect(notices.filter((text) => /at most 20 a minute/.test(text))).toHaveLength(1);
    expect(notices).toHaveLength(5);

    release();
    await waitFor(() => nemo.sseCalls.filter((call) => call.text.startsWith('flood')).length === 4 && r.sentTo(floodChat.id).filter((m) => /Happy to help with: flood/.test(m.text ?? '')).length === 3, {
      timeoutMs: 30_000,
      message: 'the three waiting turns answered',
    });
    const turns = nemo.sseCalls.filter((call) => call.text.startsWith('flood')).map((call) => call.text);
    // The held turn, then three of the flood (handlers run side by side, so not necessarily 1, 2, 3).
    expect(turns[0]).toBe('flood first');
    expect(new Set(turns.slice(1)).size).toBe(3);
    // Nothing else waits for later.
    await waitFor(async () => (await r.app.engine.recoverInterrupted()) === 0);
    expect(nemo.sseCalls.filter((call) => call.text.startsWith('flood'))).toHaveLength(4);
  }, 120_000);
});
