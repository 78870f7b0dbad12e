import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Base64url characters of a project reference. */
export const PROJECT_REF_CHARS = 8;

/**
 * The 8-character reference of a project: a hash of its session id, the same in every process.
 * Buttons, the message → project map and the project listing carry it instead of the session id
 * (Telegram's callback data is 64 bytes).
 */
export function projectRef(sessionId: string): string {
  return createHash('sha256').update(`project\n${sessionId}`).digest('base64url').slice(0, PROJECT_REF_CHARS);
}

/** The reference's shape, checked where it crosses a boundary (buttons, typed commands, Redis). */
export const ProjectRefSchema = z.string().regex(new RegExp(`^[A-Za-z0-9_-]{${PROJECT_REF_CHARS}}$`));
