import { NO_PACING, startTelegramRig } from './lib/telegram-rig.js';
const rig = await startTelegramRig({ users: 2, pacing: NO_PACING, worker: true, env: { RENDER_POLL_INTERVAL_MS: '100' } });
const T = 60000;
await rig.ask(0, 'credits', /^Credits: \d+ available/, T);
await rig.ask(0, 'Generate a video of a city timelapse', /Keep them, or say/, T);
const p = rig.users[0]!;
rig.tg.say(p.chat, p.user, { text: '/export' });
while (!rig.tg.calls.some((c) => c.method === 'sendVideo')) await new Promise((r) => setTimeout(r, 100));
for (let i = 0; i < 4; i++) await rig.ask(0, 'what would suit a product teaser?', /Happy to help/, T);
await new Promise((r) => setTimeout(r, 1000));
const redis = rig.app.redis;
const keys = await redis.keys('*');
for (const k of keys.sort()) {
  const type = await redis.type(k);
  const mem = await redis.memory('USAGE', k, 'SAMPLES', '0');
  const ttl = await redis.ttl(k);
  const enc = await redis.object('ENCODING', k);
  let v: unknown;
  if (type === 'string') v = await redis.get(k);
  else if (type === 'hash') v = await redis.hgetall(k);
  else v = type;
  console.log(k, type, enc, mem, ttl, JSON.stringify(v).slice(0, 3000));
}
await rig.close();
process.exit(0);
