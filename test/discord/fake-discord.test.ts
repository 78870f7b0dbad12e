import { once } from 'node:events';
import { request } from 'undici';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord/index.js';
import { waitFor } from '../helpers/wait-for.js';

let fake: FakeDiscord | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function call(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, auth?: string) {
  const res = await request(`${fake?.apiUrl}/v10${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(auth ? { authorization: auth } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? (JSON.parse(text) as { code?: number; url?: string }) : undefined };
}

describe('fake Discord', () => {
  it('when GET /gateway/bot comes without the bot token, then 401; with it, the gateway URL', async () => {
    fake = await startFakeDiscord();
    expect((await call('GET', '/gateway/bot')).status).toBe(401);
    const ok = await call('GET', '/gateway/bot', undefined, `Bot ${fake.token}`);
    expect(ok.status).toBe(200);
    expect(ok.json?.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/gateway$/);
  });

  it('when a client identifies with a wrong token, then the gateway says HELLO and closes with 4004', async () => {
    fake = await startFakeDiscord();
    const ws = new WebSocket(`${fake.url.replace('http', 'ws')}/gateway?v=10&encoding=json`);
    const [hello] = (await once(ws, 'message')) as [Buffer];
    expect(JSON.parse(hello.toString())).toMatchObject({ op: 10, d: { heartbeat_interval: 1000 } });
    ws.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(4004);
  });

  it('when an interaction is acknowledged after the deadline, then 10062; when its token has expired, then 50027', async () => {
    fake = await startFakeDiscord({ ackDeadlineMs: 30, interactionTokenLifeMs: 120 });
    const late = fake.openInteraction({ user: fake.users.alice, channelId: fake.channelId });
    await waitFor(() => Date.now() - late.createdAt > 40, { message: 'the deadline to pass' });
    expect((await call('POST', `/interactions/${late.id}/${late.token}/callback`, { type: 5 })).json?.code).toBe(10062);

    const timely = fake.openInteraction({ user: fake.users.alice, channelId: fake.channelId });
    expect((await call('POST', `/interactions/${timely.id}/${timely.token}/callback`, { type: 5 })).status).toBe(204);
    expect((await call('PATCH', `/webhooks/${fake.applicationId}/${timely.token}/messages/%40original`, { content: 'in time' })).status).toBe(200);
    await waitFor(() => Date.now() - timely.createdAt > 130, { message: 'the token to expire' });
    const expired = await call('PATCH', `/webhooks/${fake.applicationId}/${timely.token}/messages/%40original`, { content: 'too late' });
    expect(expired).toMatchObject({ status: 401, json: { code: 50027 } });
    expect(fake.expiredTokenUses).toEqual([timely.id]);
    expect(fake.message(timely.originalMessageId ?? '')?.content).toBe('in time');
  });

  it('when an interaction route carries an Authorization header, then it is recorded as a violation', async () => {
    fake = await startFakeDiscord();
    const interaction = fake.openInteraction({ user: fake.users.alice, channelId: fake.channelId });
    await call('POST', `/interactions/${interaction.id}/${interaction.token}/callback`, { type: 5 }, `Bot ${fake.token}`);
    expect(fake.violations).toEqual([expect.stringMatching(/Authorization header on an interaction route/)]);
  });
});
