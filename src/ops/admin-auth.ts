import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { LoginThrottle } from './login-throttle.js';

/** The one user of the operator's pages: what tools and tunnels expect with HTTP Basic. */
export const ADMIN_USER = 'admin';

export type AdminVerdict =
  | { readonly ok: true }
  /** No or wrong credentials: 401 with a `WWW-Authenticate` challenge. */
  | { readonly ok: false; readonly status: 401 }
  /** Too many wrong passwords from this client: 429, try again after this. */
  | { readonly ok: false; readonly status: 429; readonly retryAfterSeconds: number };

/**
 * HTTP Basic for the operator's pages. Both the user and the password are compared as
 * SHA-256 digests with `timingSafeEqual` (equal lengths whatever was sent, so neither the
 * length nor a common prefix shows in the time), and a client that keeps failing must wait
 * before its next password is even looked at.
 */
export class AdminAuth {
  private readonly user = digest(ADMIN_USER);
  private readonly password: Buffer;

  constructor(
    password: string,
    private readonly throttle: LoginThrottle,
  ) {
    this.password = digest(password);
  }

  check(req: IncomingMessage): AdminVerdict {
    const client = req.socket.remoteAddress ?? 'unknown';
    const waitMs = this.throttle.waitMs(client);
    if (waitMs > 0) return { ok: false, status: 429, retryAfterSeconds: Math.ceil(waitMs / 1000) };
    const given = basicCredentials(req.headers.authorization);
    // A browser's first request carries no credentials: that is a question, not a failure.
    if (given === undefined) return { ok: false, status: 401 };
    const userOk = timingSafeEqual(digest(given.user), this.user);
    const passwordOk = timingSafeEqual(digest(given.password), this.password);
    if (userOk && passwordOk) {
      this.throttle.succeeded(client);
      return { ok: true };
    }
    this.throttle.failed(client);
    return { ok: false, status: 401 };
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** `Basic base64(user:password)`; the password may hold `:`, the user may not (RFC 7617). */
function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
