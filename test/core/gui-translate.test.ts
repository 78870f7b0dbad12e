import { describe, expect, it } from 'vitest';
import { translateAgentText } from '../../src/core/gui-translate.js';

describe('translateAgentText', () => {
  it('when a hostile answer repeats editor verbs without their object 100,000 characters long, then translation finishes in well under a second', () => {
    for (const unit of ['press ', 'open ', 'check ', '打开', '查看', '可以']) {
      const text = unit.repeat(Math.floor(100_000 / unit.length));
      const started = performance.now();
      translateAgentText(text);
      // An unbounded `.*` after each verb took 1.7 s on 40,000 characters (quadratic).
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });

  it('when a direction names its editor element within the window, then it is still dropped', () => {
    const out = translateAgentText('I added the title. Open the timeline panel to see it.');
    expect(out.text).toBe('I added the title.');
    expect(out.intents).toContain('status');
  });

  it('when the agent says nothing about an editor, then the text is unchanged and there is no intent', () => {
    const text = 'I generated a 10-second city timelapse with a lo-fi soundtrack. Let me know if you would like any changes!';
    expect(translateAgentText(text)).toEqual({ text, intents: [] });
  });

  it('when the agent asks to preview in the timeline, then the direction goes and status is offered', () => {
    expect(translateAgentText('I\'ve added a warm title "Paradise Found" at the start. You can preview it in the timeline.')).toEqual({
      text: 'I\'ve added a warm title "Paradise Found" at the start.',
      intents: ['status'],
    });
  });

  it('when the agent points at the Export button, then the direction goes and export is offered', () => {
    expect(translateAgentText('Your video is ready! Click the Export button in the top right corner to download it.')).toEqual({
      text: 'Your video is ready!',
      intents: ['export'],
    });
  });

  it('when a direction is a clause of a content sentence, then only the clause goes', () => {
    expect(translateAgentText("I've added the title, and you can preview it in the timeline.")).toEqual({
      text: "I've added the title.",
      intents: ['status'],
    });
    expect(translateAgentText('The title appears in the middle of the frame; press the Export button when ready.')).toEqual({
      text: 'The title appears in the middle of the frame.',
      intents: ['export'],
    });
  });

  it('when a lead-in introduces the direction, then the lead-in goes with it', () => {
    expect(translateAgentText("Once you're happy with the result, click Export to render the final video.")).toEqual({
      text: '',
      intents: ['export'],
    });
  });

  it('when the whole answer is GUI directions, then the text is empty and the engine decides', () => {
    expect(translateAgentText('Click Export.')).toEqual({ text: '', intents: ['export'] });
  });

  it('when the agent tells the user to drag a clip, then the direction goes', () => {
    const result = translateAgentText('The background music is now at 60% volume. Drag the clip to adjust its position.');
    expect(result).toEqual({ text: 'The background music is now at 60% volume.', intents: [] });
  });

  it('when the agent sends the user to the account page, then credits are offered', () => {
    expect(translateAgentText('This edit used 50 credits. You can check your remaining balance in your account settings.')).toEqual({
      text: 'This edit used 50 credits.',
      intents: ['credits'],
    });
  });

  it('when several directions are dropped, then every intent is reported once, in order', () => {
    const result = translateAgentText('Preview it in the timeline. Then click Export. Open the timeline panel again to compare.');
    expect(result).toEqual({ text: '', intents: ['status', 'export'] });
  });

  it('when a list holds a direction item, then that item goes and the other items stay', () => {
    const text = "Here's what I changed:\n- Added a title at 0–3 s\n- Open the timeline panel to see all tracks\n- Lowered the music to 35%";
    expect(translateAgentText(text)).toEqual({
      text: "Here's what I changed:\n- Added a title at 0–3 s\n- Lowered the music to 35%",
      intents: ['status'],
    });
  });

  it('when content mentions a timeline or a preview without directing the user, then it is kept', () => {
    const text = 'The music now runs across the whole timeline. Here is a preview of the mood: calm and warm.';
    expect(translateAgentText(text)).toEqual({ text, intents: [] });
  });

  describe('in Chinese', () => {
    it('when the agent asks to preview in the timeline, then only the content clause stays', () => {
      expect(translateAgentText('我已经为视频添加了标题“天堂”，您可以在时间线中预览效果。')).toEqual({
        text: '我已经为视频添加了标题“天堂”。',
        intents: ['status'],
      });
    });

    it('when the agent points at the export button, then the direction goes and export is offered', () => {
      expect(translateAgentText('视频已生成完成！点击右上角的导出按钮即可下载。')).toEqual({ text: '视频已生成完成！', intents: ['export'] });
    });

    it('when a lead-in introduces the direction, then nothing is left', () => {
      expect(translateAgentText('添加完成后，点击导出按钮即可下载。')).toEqual({ text: '', intents: ['export'] });
    });

    it('when the agent says to drag or open, then those go too', () => {
      expect(translateAgentText('音乐已添加。请把图片拖拽到视频轨道上。打开编辑器查看效果。')).toEqual({
        text: '音乐已添加。',
        intents: ['status'],
      });
    });

    it('when the agent sends the user to top up, then credits are offered', () => {
      expect(translateAgentText('积分不足。如需更多积分，请前往账户页面充值。')).toEqual({ text: '积分不足。', intents: ['credits'] });
    });

    it('when the text is plain content, then it is unchanged', () => {
      expect(translateAgentText('背景音乐的音量已调整为60%。')).toEqual({ text: '背景音乐的音量已调整为60%。', intents: [] });
    });
  });
});
