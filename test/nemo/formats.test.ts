import { describe, expect, it } from 'vitest';
import { acceptedFormatsText, checkUpload, isDocument, isMediaUrl, MAX_UPLOAD_BYTES, mediaKindOf } from '../../src/nemo/formats.js';

describe('formats', () => {
  it('when a file has an accepted extension, then its kind comes from the extension whatever the MIME type says', () => {
    expect(mediaKindOf('clip.MP4', 'application/octet-stream')).toBe('video');
    expect(mediaKindOf('photo.jpeg', '')).toBe('image');
    expect(mediaKindOf('song.m4a', 'audio/x-m4a')).toBe('audio');
    expect(mediaKindOf('notes.docx', 'application/octet-stream')).toBe('document');
  });

  it('when a file has no known extension, then the MIME type decides', () => {
    expect(mediaKindOf('voice', 'audio/mpeg')).toBe('audio');
    expect(mediaKindOf('upload.bin', 'video/quicktime; codecs=x')).toBe('video');
    expect(mediaKindOf('archive.zip', 'application/zip')).toBeUndefined();
  });

  it('when a file is a document, then isDocument says so and the upload is refused as unsupported', () => {
    expect(isDocument('brief.pdf', 'application/pdf')).toBe(true);
    expect(isDocument('readme', 'text/markdown')).toBe(true);
    expect(isDocument('clip.mp4', 'video/mp4')).toBe(false);
    expect(checkUpload('brief.pdf', 'application/pdf', 10)?.code).toBe('unsupported_file');
  });

  it('when a file is accepted and within 50 MB, then checkUpload accepts it; one byte more is too large', () => {
    expect(checkUpload('clip.mov', 'video/quicktime', MAX_UPLOAD_BYTES)).toBeUndefined();
    const tooLarge = checkUpload('clip.mov', 'video/quicktime', MAX_UPLOAD_BYTES + 1);
    expect(tooLarge).toMatchObject({ code: 'file_too_large', nemoCode: 4002 });
  });

  it('when a file type is unknown, then it is refused as unsupported before its size is considered', () => {
    expect(checkUpload('tool.exe', 'application/x-msdownload', MAX_UPLOAD_BYTES * 2)).toMatchObject({ code: 'unsupported_file', nemoCode: 4001 });
  });

  it('when the accepted formats are listed, then every media extension appears once, documents do not', () => {
    const text = acceptedFormatsText();
    expect(text.split(', ')).toEqual(['mp4', 'mov', 'avi', 'webm', 'mkv', 'jpg', 'jpeg', 'png', 'gif', 'webp', 'mp3', 'wav', 'm4a', 'aac']);
  });

  it('when only one kind\'s formats are listed, then only its extensions appear', () => {
    expect(acceptedFormatsText('audio')).toBe('mp3, wav, m4a, aac');
    expect(acceptedFormatsText('image')).toBe('jpg, jpeg, png, gif, webp');
  });

  it('when a voice note (.ogg) is checked, then NemoVideo would refuse it as unsupported: the bot converts it first', () => {
    expect(checkUpload('voice_1.ogg', 'audio/ogg', 1000)).toMatchObject({ code: 'unsupported_file' });
  });

  it('when a link is http(s) and its path ends in a media extension, then it is a media URL', () => {
    expect(isMediaUrl('https://example.com/videos/clip.mp4?sig=abc')).toBe(true);
    expect(isMediaUrl('http://example.com/a%20b.WEBM')).toBe(true);
    expect(isMediaUrl('https://example.com/page.html')).toBe(false);
    expect(isMediaUrl('https://example.com/doc.pdf')).toBe(false);
    expect(isMediaUrl('ftp://example.com/clip.mp4')).toBe(false);
    expect(isMediaUrl('not a url')).toBe(false);
    expect(isMediaUrl('https://example.com/?file=clip.mp4')).toBe(false);
  });
});
