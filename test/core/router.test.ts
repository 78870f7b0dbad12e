import { describe, expect, it } from 'vitest';
import { route } from '../../src/core/router.js';

describe('route', () => {
  it.each([
    'export',
    'Export!',
    'export please',
    'export the video',
    'please export it now',
    'download it',
    'Download the final video.',
    'send me the video',
    'render it',
    'I want to export the video',
    '导出',
    '导出视频',
    '请帮我导出一下',
    '下载视频',
    '把视频发给我',
  ])('when the user writes %j, then it is an export and nothing is relayed', (text) => {
    expect(route(text, false)).toEqual({ action: 'export', text: '' });
  });

  it.each(['credits', 'balance', 'my credits?', 'how many credits do I have', 'credit balance', '积分', '余额', '我还有多少积分', '查看余额'])(
    'when the user writes %j, then it is a credits question',
    (text) => {
      expect(route(text, false)).toEqual({ action: 'credits', text: '' });
    },
  );

  it.each(['status', 'show tracks', 'show me the timeline', 'timeline?', '状态', '时间线', '查看时间线', '显示轨道'])(
    'when the user writes %j, then it asks for the status',
    (text) => {
      expect(route(text, false)).toEqual({ action: 'status', text: '' });
    },
  );

  it.each([
    'make a video about exporting goods from Kenya',
    'export it to 4k with a blue filter',
    "I don't want to download it yet",
    'send a video of cats to my mum',
    'add a status bar at the top',
    'show me a video',
    'download speeds in Kenya are improving, make a video about it',
    '做一个关于导出商品的视频',
    '帮我做一个关于下载速度的短片',
    'status and credits',
  ])('when an ordinary prompt mentions a keyword (%j), then it is a chat turn relayed as is', (text) => {
    expect(route(text, false)).toEqual({ action: 'chat', text });
  });

  it.each([
    ['/start', 'start'],
    ['/help', 'help'],
    ['/new', 'new'],
    ['/export', 'export'],
    ['/credits', 'credits'],
    ['/status', 'status'],
    ['/upload', 'upload'],
  ] as const)('when the command %s arrives, then it maps to its action', (text, action) => {
    expect(route(text, false)).toEqual({ action, text: '', command: text.slice(1) });
  });

  it.each(['projects', 'my projects', 'show my projects', '/projects', '我的项目', '项目列表', '查看所有项目'])('when the user writes %j, then it lists the projects', (text) => {
    expect(route(text, false)).toMatchObject({ action: 'projects', text: '' });
  });

  it('when the user types /switch with a number, then it is a switch carrying the number; "switch to the beach video" is a chat turn', () => {
    expect(route('/switch 2', false)).toEqual({ action: 'switch', text: '2', command: 'switch' });
    expect(route('switch to the beach video', false)).toEqual({ action: 'chat', text: 'switch to the beach video' });
    expect(route('当前项目', false).action).toBe('chat');
  });

  it('when a command has a bot-name suffix and odd case, then it is still recognized', () => {
    expect(route('/Export@nemo_bot', false)).toEqual({ action: 'export', text: '', command: 'export' });
  });

  it('when a command carries an argument, then the argument is the text', () => {
    expect(route('/upload@nemo_bot https://cdn.example/clip.mp4', false)).toEqual({
      action: 'upload',
      text: 'https://cdn.example/clip.mp4',
      command: 'upload',
    });
    expect(route('/start ref_123', false)).toEqual({ action: 'start', text: 'ref_123', command: 'start' });
  });

  it('when an unknown command arrives, then it is reported as unknown with its name', () => {
    expect(route('/foo bar', false)).toEqual({ action: 'unknown_command', text: 'bar', command: 'foo' });
  });

  it('when a message merely starts with a path, then it is not a command', () => {
    expect(route('/usr/bin is where my files are', false).action).toBe('chat');
  });

  it('when a message has files, then it is an upload and the accompanying text is kept', () => {
    expect(route('use this as the intro and add music', true)).toEqual({ action: 'upload', text: 'use this as the intro and add music' });
  });

  it('when files come with only an upload phrase or nothing, then nothing is left to relay', () => {
    expect(route('upload this video', true)).toEqual({ action: 'upload', text: '' });
    expect(route('', true)).toEqual({ action: 'upload', text: '' });
  });

  it('when files come with an export phrase, then it is an upload and "export" is never relayed', () => {
    expect(route('导出', true)).toEqual({ action: 'upload', text: '' });
  });

  it('when files come with a command, then the files are still uploaded', () => {
    expect(route('/upload make it the intro', true)).toEqual({ action: 'upload', text: 'make it the intro', command: 'upload' });
  });

  it('when the user writes upload with a link, then it is an upload of that link', () => {
    expect(route('upload https://cdn.example/a.mp4', false)).toEqual({ action: 'upload', text: 'https://cdn.example/a.mp4' });
    expect(route('上传 https://cdn.example/b.mov', false)).toEqual({ action: 'upload', text: 'https://cdn.example/b.mov' });
  });

  it('when the user writes upload alone, then it is an upload with nothing to relay', () => {
    expect(route('upload', false)).toEqual({ action: 'upload', text: '' });
    expect(route('上传视频', false)).toEqual({ action: 'upload', text: '' });
  });

  it.each(['', '   ', '\n\t ', '\u0000\u0007'])('when the message is blank (%j), then it is empty', (text) => {
    expect(route(text, false)).toEqual({ action: 'empty', text: '' });
  });

  it('when a message holds control characters, then they are stripped but newlines and tabs stay', () => {
    expect(route('line one\u0000\u001b\r\nline\ttwo\u202e', false)).toEqual({ action: 'chat', text: 'line one\nline\ttwo' });
  });

  it('when control characters hide inside a keyword, then the keyword is still recognized', () => {
    expect(route('ex\u200bport\u0007', false)).toEqual({ action: 'export', text: '' });
  });
});
