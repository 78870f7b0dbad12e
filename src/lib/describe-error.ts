import { scrubSecrets } from '../log.js';

/** What a platform knows about its own errors, for `describeError`. */
export interface ErrorDetails {
  /** Fields of an error the platform knows (a Bot API refusal, a Discord route), over the common ones. */
  fields?(error: unknown): Record<string, unknown> | undefined;
  /** Removes what else the platform's messages may carry (a bot path, a URL with a token), after `scrubSecrets`. */
  scrub?(text: string): string;
}

const MAX_TEXT_CHARS = 500;

/**
 * The one description of an error for a log line, in every module and adapter: its class,
 * code, status and a scrubbed message. Never the error's other fields: a request's headers
 * or body, or a Discord error's URL, which holds an interaction token.
 */
export function describeError(error: unknown, details: ErrorDetails = {}): Record<string, unknown> {
  const clean = (text: string): string => {
    const scrubbed = scrubSecrets(text);
    return (details.scrub ? details.scrub(scrubbed) : scrubbed).slice(0, MAX_TEXT_CHARS);
  };
  const own = details.fields?.(error);
  if (!(error instanceof Error)) return { value: clean(String(error)), ...own };
  const { code, status, nemoCode } = error as Error & { code?: unknown; status?: unknown; nemoCode?: unknown };
  return { name: error.name, message: clean(error.message), code, status, nemoCode, ...own };
}
