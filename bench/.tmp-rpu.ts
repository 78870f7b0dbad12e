import { benchPlan } from './lib/plan.js';
import { benchRedisPerUser } from './redis-per-user.js';
const r = await benchRedisPerUser(benchPlan());
for (const f of r.figures) console.log(f.name, f.value.toFixed(1), f.unit);
for (const n of r.notes) console.log(n);
process.exit(0);
