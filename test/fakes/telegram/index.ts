export { startFakeTelegram, DEFAULT_TOKEN } from './server.js';
export { autoEntities } from './world.js';
export * from './types.js';
