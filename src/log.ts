import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** Defaults to stdout; tests pass a memory stream. */
  destination?: DestinationStream;
  /**
   * Exact secret values to scrub wherever they appear (the configured tokens), for tokens
   * whose shape no pattern recognizes. Values shorter than 8 characters are ignored.
   */
  secrets?: readonly string[];
}

const CENSOR = '[redacted]';

// Field names that hold a secret, whatever its shape. Claim tokens are absent on purpose:
// they only open a project in a browser and are shown to users anyway.
const REDACT_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'Authorization',
  '*.Authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.Authorization',
  '*.headers.Authorization',
  'NEMO_TOKEN',
  'TELEGRAM_BOT_TOKEN',
  'DISCORD_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
  'botToken',
  '*.botToken',
  'nemoToken',
  '*.nemoToken',
  'telegramBotToken',
  '*.telegramBotToken',
  'discordToken',
  '*.discordToken',
  'telegramWebhookSecret',
  '*.telegramWebhookSecret',
];

// Each pattern stops at `"` and `\` so that scrubbing a serialized JSON line never eats
// the closing quote of the string the secret sits in. No `\b` anchors: in JSON a secret may
// follow an escape such as `\n`, where there is no word boundary. A pattern that opens with a
// repeated class starts only where a run of that class starts (the lookbehind): otherwise a
// long run is rescanned from each of its characters, quadratic time on hostile input.
const SECRET_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // NemoVideo bearer tokens: `nmv_usr_…`.
  [/nmv_([a-z]+)_[A-Za-z0-9_.~+/=-]+/g, `nmv_$1_${CENSOR}`],
  // Over-scrubs prose such as "bearer token expired": better than letting a header through.
  [/(Bearer)\s+[^\s"\\,;]+/gi, `$1 ${CENSOR}`],
  // Telegram Bot API URLs carry the token in the path: `/bot<id>:<secret>/…`, `/file/bot…`.
  [/\/bot\d+:[^/\s"\\?#]+/g, `/bot${CENSOR}`],
  // A bare Telegram token: `<bot id>:<35 characters>`.
  [/(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}/g, CENSOR],
  // Discord bot tokens (and JWTs, which share the shape): three base64url parts joined by dots.
  [/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{20,}/g, CENSOR],
  // Query parameters named like a credential.
  [/([?&](?:token|access_token|api_key|apikey)=)[^&\s"\\#]+/gi, `$1${CENSOR}`],
];

/** Replaces every token-shaped string; used on log lines and on any error text shown to a user. */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A scrubber for the exact values, both raw and as they appear JSON-escaped in a line. */
function exactScrubber(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 8) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  if (forms.size === 0) return (text) => text;
  const pattern = new RegExp([...forms].map(escapeRegExp).join('|'), 'g');
  return (text) => text.replace(pattern, CENSOR);
}

export function createLogger(options: LoggerOptions): Logger {
  const scrubExact = exactScrubber(options.secrets ?? []);
  return pino(
    {
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      hooks: {
        // The last step before the stream: it sees the message, nested values, keys and
        // serialized error stacks alike, so nothing escapes it.
        streamWrite: (line) => scrubSecrets(scrubExact(line)),
      },
    },
    options.destination ?? pino.destination(1),
  );
}
