import { describe, expect, it } from 'vitest';
import { errorAnswer, errorReply, registrationLink } from '../../src/core/error-reply.js';
import { VoiceNoteError } from '../../src/media/voice-note.js';
import { NemoApiError, NemoNetworkError } from '../../src/nemo/errors.js';

const ctx = { webUrl: 'https://nemovideo.example', anonymous: true, fileName: 'voice_1.ogg' };

describe('errorReply for voice notes', () => {
  it.each(['voice_note_unconvertible', 'voice_note_converter_missing', 'voice_note_timeout', 'voice_note_aborted'] as const)(
    'when a voice note fails with %s, then the user is told it could not be converted and which audio formats work',
    (code) => {
      const error = new VoiceNoteError(code, 'ffmpeg exited with 1: pipe:0: Invalid data found when processing input');
      expect(errorReply(error, 'en', ctx)).toBe(
        'I couldn\'t convert the voice note "voice_1.ogg" into audio I can use. Please send the audio as one of: mp3, wav, m4a, aac.',
      );
      expect(errorReply(error, 'zh', ctx)).toBe('无法转换语音消息“voice_1.ogg”，请改用以下格式发送音频：mp3, wav, m4a, aac。');
    },
  );

  it('when a voice note is over its limit, then the limit is the one that refused it', () => {
    const error = new VoiceNoteError('voice_note_too_large', 'too large', { maxBytes: 20 * 1024 * 1024 });
    expect(errorReply(error, 'en', ctx)).toMatch(/^"voice_1\.ogg" is too large \(the limit is 20 MB\)/);
  });

  it('when the voice note download broke, then the reply is the one its cause gets', () => {
    const cause = new NemoNetworkError('/x', new Error('reset'));
    const error = new VoiceNoteError('voice_note_source_failed', 'reading failed', { cause });
    expect(errorReply(error, 'en', ctx)).toBe(errorReply(cause, 'en', ctx));
    expect(errorReply(error, 'en', ctx)).not.toMatch(/voice note/);
  });
});

describe('errorAnswer: a registration link belongs to one person', () => {
  const anon = { webUrl: 'https://nemovideo.example', anonymous: true, nemoUserId: 'anon_42' };

  it.each([
    [{ status: 200, nemoCode: 2001 }, "You're out of credits. Register to get more."],
    [{ status: 402 }, 'Exporting needs a registered NemoVideo account (it\'s not a credit problem). Register, then say "export" again.'],
  ])('when the answer holds the ?bind= link (%o), then a shared chat gets a sentence without it', (init, publicText) => {
    const answer = errorAnswer(new NemoApiError({ endpoint: '/x', ...init }), 'en', anon);
    expect(answer.text).toContain('https://nemovideo.example/?bind=anon_42');
    expect(answer.publicText).toBe(publicText);
    expect(errorAnswer(new NemoApiError({ endpoint: '/x', ...init }), 'zh', anon).publicText).not.toMatch(/bind=|http/);
  });

  it('when the answer holds no personal link, then there is no private part', () => {
    expect(errorAnswer(new NemoNetworkError('/x', new Error('reset')), 'en', anon).publicText).toBeUndefined();
    // Without the person's id the link is the site's front page: anyone may read it.
    expect(errorAnswer(new NemoApiError({ endpoint: '/x', status: 402 }), 'en', { ...anon, nemoUserId: undefined }).publicText).toBeUndefined();
  });
});

describe('registrationLink: the one place the ?bind= link is built', () => {
  it('when the site address ends with a slash, then the link has one slash before ?bind=', () => {
    expect(registrationLink('https://nemovideo.example/', 'anon_42')).toBe('https://nemovideo.example/?bind=anon_42');
    expect(registrationLink('https://nemovideo.example', 'anon 42')).toBe('https://nemovideo.example/?bind=anon%2042');
  });

  it('when there is no id, then the link is the site itself', () => {
    expect(registrationLink('https://nemovideo.example', undefined)).toBe('https://nemovideo.example');
  });
});
