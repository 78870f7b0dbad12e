import { describe, expect, it } from 'vitest';
import { videoFilename } from '../../src/render/video-naming.js';

describe('videoFilename', () => {
  it('when a project is exported twice, then its two files have different names in the chat', () => {
    const first = videoFilename('My Trip!', 'sess-1', '1041');
    const second = videoFilename('My Trip!', 'sess-1', '1042');
    expect(first).toBe('my-trip-1041.mp4');
    expect(second).not.toBe(first);
  });

  it('when there is no title, then the name comes from the session; odd characters never reach it', () => {
    expect(videoFilename(undefined, '55/29:79', 'render_ab-cd_ef12')).toBe('nemovideo-552979-cdef12.mp4');
    expect(videoFilename('   ', 'x', '')).toBe('nemovideo-x.mp4');
  });
});
