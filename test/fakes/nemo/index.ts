export { startFakeNemo } from './server.js';
export * from './types.js';
export { adk, adkTurn, toSnakeCase, errorFrame, type AdkEvent, type AdkBuilders } from './adk-events.js';
export { GENERATE_DONE, GENERATE_INTRO, MUSIC_DONE } from './agent.js';
export { emptyDraft, videoTrack, audioTrack, textTrack, withTracks, type Draft, type Track, type Segment } from './drafts.js';
export { FIXTURE_MP4, FIXTURE_MP4_PATH, syntheticChunk } from './render.js';
export { ACCEPTED_EXTENSIONS } from './upload-route.js';
