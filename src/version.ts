import pkg from '../package.json' with { type: 'json' };

/** `X-Skill-Source` / `X-Skill-Version`: NemoVideo attributes every call to the integration. */
export const SKILL_SOURCE = 'nemo-video-bot';
export const VERSION: string = pkg.version;
