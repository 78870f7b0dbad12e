import { startEngineRig, warmUp } from './lib/engine-rig.js';
const rig = await startEngineRig();
await warmUp(rig, 5);
const redis = rig.app.redis as any;
const original = redis.sendCommand.bind(redis);
let inFlight = 0; let group: string[] = []; const groups: string[][] = [];
redis.sendCommand = (cmd: any, ...rest: any[]) => {
  const r = original(cmd, ...rest);
  if (r instanceof Promise) {
    if (inFlight === 0) { group = []; groups.push(group); }
    inFlight++; group.push(String(Number(process.hrtime.bigint()/1000n)%100000)+':'+cmd.name + (cmd.name === 'evalsha' ? ':' + String(cmd.args[0]).slice(0, 6) : ''));
    const done = () => { inFlight--; group.push('<'+cmd.name+':'+String(Number(process.hrtime.bigint()/1000n)%100000)); };
    r.then(done, done);
  }
  return r;
};
await rig.app.engine.handle(rig.message('chat', 1));
console.log(JSON.stringify(groups));
groups.length = 0;
await rig.app.engine.handle(rig.message('credits', 1));
console.log(JSON.stringify(groups));
await rig.close();
process.exit(0);
