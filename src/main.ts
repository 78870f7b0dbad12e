// The entry point stays tiny: it checks the Node version before loading anything that an old
// Node would crash on (undici fails deep inside with no word about the version), then starts.
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
await import('./start.js');
