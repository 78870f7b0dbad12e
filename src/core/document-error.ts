export type DocumentErrorCode =
  | 'document_too_large'
  | 'document_unreadable'
  /** Too big once unzipped, too slow or too hungry to parse: a bomb, or close enough. */
  | 'document_too_complex'
  /** This process is already reading as many documents as it queues. */
  | 'document_busy';

export class DocumentError extends Error {
  constructor(
    readonly code: DocumentErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DocumentError';
  }
}
