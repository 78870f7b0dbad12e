export type MediaErrorCode =
  | 'media_tool_missing'
  | 'media_unreadable'
  | 'media_encode_failed'
  | 'media_timeout'
  | 'media_aborted'
  | 'media_too_large';

/** ffmpeg or ffprobe could not do what was asked; `message` is for the log only. */
export class MediaError extends Error {
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MediaError';
  }
}
