import { describe, expect, it } from 'vitest';
import { boardAllows, withoutSecrets } from '../../src/ops/queue-board.js';
import { escapeHtml } from '../../src/ops/admin-page.js';

describe('the render queue board', () => {
  it('offers retry, remove, promote and clean, and nothing that adds, edits or empties', () => {
    const board = '/admin/queues/api/queues/render';
    expect(boardAllows('GET', '/admin/queues')).toBe(true);
    expect(boardAllows('PUT', `${board}/render_1/retry`)).toBe(true);
    expect(boardAllows('PUT', `${board}/render_1/clean`)).toBe(true);
    expect(boardAllows('PUT', `${board}/render_1/promote`)).toBe(true);
    expect(boardAllows('PUT', `${board}/retry/failed`)).toBe(true);
    expect(boardAllows('PUT', `${board}/clean/completed`)).toBe(true);
    expect(boardAllows('PUT', `${board}/retry/completed`)).toBe(false);
    expect(boardAllows('POST', `${board}/add`)).toBe(false);
    expect(boardAllows('PATCH', `${board}/render_1/update-data`)).toBe(false);
    expect(boardAllows('PUT', `${board}/empty`)).toBe(false);
    expect(boardAllows('PUT', `${board}/obliterate`)).toBe(false);
    expect(boardAllows('PUT', `${board}/pause`)).toBe(false);
    expect(boardAllows('PUT', '/admin/queues/api/queues/pause')).toBe(false);
    expect(boardAllows('DELETE', `${board}/render_1`)).toBe(false);
  });

  it('hides secret-looking keys at any depth of job data', () => {
    const shown = withoutSecrets({ renderId: 'render_1', address: { chatId: '1', extra: { interactionToken: 'abc', n: 2 } }, list: [{ apiKeySecret: 'x' }] });
    expect(shown).toEqual({ renderId: 'render_1', address: { chatId: '1', extra: { interactionToken: '[hidden]', n: 2 } }, list: [{ apiKeySecret: '[hidden]' }] });
    expect(JSON.stringify(shown)).not.toContain('abc');
  });

  it('escapes markup and quotes for the overview page', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});
