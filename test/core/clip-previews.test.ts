import { describe, expect, it } from 'vitest';
import { clipsIn } from '../../src/core/clip-previews.js';

describe('clip URLs in tool results and state, read tolerantly', () => {
  it('when a generate result carries video_url with a duration and size, then one clip with both comes out', () => {
    expect(clipsIn({ status: 'success', video_url: 'https://cdn.example.com/gen/a.mp4', duration: 5, file_size: '1048576' })).toEqual([
      { url: 'https://cdn.example.com/gen/a.mp4', durationSec: 5, sizeBytes: 1_048_576 },
    ]);
  });

  it('when clips sit nested in lists (generated_media, video_infos), then each video URL comes out once, in order', () => {
    const media = [{ type: 'video', url: 'https://cdn.example.com/x/1.mp4?sig=abc' }, { items: [{ media: { src: 'https://cdn.example.com/x/2.webm' } }] }];
    expect(clipsIn([media, [{ url: 'https://cdn.example.com/x/1.mp4?sig=abc' }]]).map((c) => c.url)).toEqual([
      'https://cdn.example.com/x/1.mp4?sig=abc',
      'https://cdn.example.com/x/2.webm',
    ]);
  });

  it('when URLs are not videos, not http(s), or the field is missing or odd, then nothing shows', () => {
    expect(clipsIn({ url: 'https://example.com/page.html' })).toEqual([]);
    expect(clipsIn({ video_url: 'javascript:alert(1)' })).toEqual([]);
    expect(clipsIn({ video_url: 'file:///etc/passwd' })).toEqual([]);
    expect(clipsIn(undefined)).toEqual([]);
    expect(clipsIn('https://cdn.example.com/a.mp4')).toEqual([]);
    expect(clipsIn({ ok: true, result: null })).toEqual([]);
  });

  it('when a result lists many clips or nests deeply, then at most four come out and the walk stays bounded', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ url: `https://cdn.example.com/c/${i}.mp4` }));
    expect(clipsIn(many)).toHaveLength(4);
    let deep: unknown = { url: 'https://cdn.example.com/deep.mp4' };
    for (let i = 0; i < 50; i += 1) deep = { next: deep };
    expect(clipsIn(deep)).toEqual([]);
  });
});
