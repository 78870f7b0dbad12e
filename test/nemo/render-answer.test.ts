import { describe, expect, it } from 'vitest';
import { renderStatusFromAnswer } from '../../src/nemo/render-answer.js';

describe('renderStatusFromAnswer', () => {
  it('when the answer is the top-level shape, then status, progress and url are read', () => {
    expect(renderStatusFromAnswer({ status: 'completed', progress: 100, output: { url: 'https://cdn/x.mp4' } }, 'render_1')).toEqual({
      id: 'render_1',
      status: 'completed',
      progress: 100,
      url: 'https://cdn/x.mp4',
    });
  });

  it('when the answer is the success/data shape, then outputUrl is the url', () => {
    const answer = {
      success: true,
      data: { id: 'render_2', status: 'processing', progress: 50, outputUrl: null, createdAt: 'x', completedAt: null },
    };
    expect(renderStatusFromAnswer(answer, 'render_2')).toEqual({ id: 'render_2', status: 'processing', progress: 50 });
    const done = { success: true, data: { id: 'render_2', status: 'completed', progress: 100, outputUrl: 'https://cdn/2.mp4' } };
    expect(renderStatusFromAnswer(done, 'render_2').url).toBe('https://cdn/2.mp4');
  });

  it('when the answer is the taskId shape, then output url and size are read and the id stays ours', () => {
    const answer = { taskId: 'lambda-77', status: 'completed', progress: 100, output: { url: 'https://cdn/3.mp4', duration: 2, size: 5208 } };
    expect(renderStatusFromAnswer(answer, 'render_3')).toEqual({
      id: 'render_3',
      status: 'completed',
      progress: 100,
      url: 'https://cdn/3.mp4',
      sizeBytes: 5208,
    });
  });

  it('when a render failed, then the error is read at the top level or inside data', () => {
    expect(renderStatusFromAnswer({ status: 'failed', error: 'codec error' }, 'r')).toMatchObject({ status: 'failed', error: 'codec error' });
    expect(renderStatusFromAnswer({ success: true, data: { status: 'failed', error: 'out of memory' } }, 'r')).toMatchObject({
      status: 'failed',
      error: 'out of memory',
    });
    expect(renderStatusFromAnswer({ success: false, error: 'top', data: { status: 'failed' } }, 'r').error).toBe('top');
  });

  it('when the submit answer is the code envelope, then its data is read', () => {
    expect(renderStatusFromAnswer({ code: 0, data: { id: 'render_9', status: 'pending', progress: 5 } }, 'render_9')).toEqual({
      id: 'render_9',
      status: 'pending',
      progress: 5,
    });
  });

  it('when fields are odd (no status, numeric strings, unknown words), then a sensible state comes out', () => {
    expect(renderStatusFromAnswer({}, 'r').status).toBe('pending');
    expect(renderStatusFromAnswer({ output: { url: 'https://cdn/u.mp4' } }, 'r').status).toBe('completed');
    expect(renderStatusFromAnswer({ status: 'RENDERING', progress: '140' }, 'r')).toEqual({ id: 'r', status: 'processing', progress: 100 });
    expect(renderStatusFromAnswer({ status: 'warming-up' }, 'r').status).toBe('processing');
    expect(renderStatusFromAnswer({ status: 'pending', progress: 'soon' }, 'r')).toEqual({ id: 'r', status: 'pending' });
  });
});
