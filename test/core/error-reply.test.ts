import { describe, expect, it } from 'vitest';
import { errorReply } from '../../src/core/error-reply.js';
import { VoiceNoteError } from '../../src/media/voice-note.js';
import { NemoNetworkError } from '../../src/nemo/errors.js';

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
