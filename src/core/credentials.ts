import { randomUUID } from 'node:crypto';
import { NemoApiError } from '../nemo/errors.js';
import type { AnonymousToken, NemoCredentials } from '../nemo/types.js';
import type { SessionStore, UserIdentity } from './session-store.js';
import type { TokenCipher } from './token-cipher.js';
import type { Platform } from './types.js';

/**
 * The service would not give this server another anonymous token (about 10 a week per
 * address): only an operator token (`NEMO_TOKEN`) or the person's own (`/login`) helps.
 */
export class AnonymousTokenRefusedError extends Error {
  readonly code = 'anonymous_token_refused';
  constructor(override readonly cause: NemoApiError) {
    super(`NemoVideo refused a new anonymous token (HTTP ${cause.status}); set NEMO_TOKEN for a bot that serves many people`);
    this.name = 'AnonymousTokenRefusedError';
  }
}

export interface CredentialDeps {
  nemo: { anonymousToken(clientId: string, platform: string): Promise<AnonymousToken> };
  sessions: Pick<SessionStore, 'readIdentity' | 'writeIdentity'>;
  /** `NEMO_TOKEN`: shared by every user without a token of their own, never renewed. */
  operatorToken?: string | undefined;
  /** Opens personal tokens (`/login`); without it they are ignored. */
  cipher?: TokenCipher | undefined;
}

export interface UserCredentials extends NemoCredentials {
  /** `anon_…` of an anonymous token: the `?bind=` id of the registration link. */
  nemoUserId(): Promise<string | undefined>;
  /** Whether the person is on an anonymous token (registration link) right now. */
  isAnonymous(): Promise<boolean>;
  /** Whether the person is on the operator's shared token (daily quotas apply). */
  isShared(): Promise<boolean>;
  /** Starts reading the person's identity now, so that it travels with other Redis reads. */
  warm(): void;
}

// Renew a little before the service would refuse the token.
const EXPIRY_MARGIN_MS = 60_000;

/**
 * The bearer for one person: their own token (`/login`) when they have one, else the
 * operator's token when set, else their own anonymous token, fetched with a client id that is
 * kept forever so renewals stay within the service's quota.
 */
export function credentialsFor(deps: CredentialDeps, platform: Platform, userId: string): UserCredentials {
  let cached: UserIdentity | undefined;
  let loading: Promise<UserIdentity> | undefined;
  // `warm`'s read: it never creates an identity, so that messages of a new person arriving
  // together leave that to first contact, which one of them does (one client id, one account).
  let peeked: Promise<UserIdentity | undefined> | undefined;

  const load = async (): Promise<UserIdentity> => {
    const early = peeked ? await peeked : undefined;
    peeked = undefined;
    const stored = early ?? (await deps.sessions.readIdentity(platform, userId));
    if (stored) return (cached = stored);
    const fresh: UserIdentity = { clientId: randomUUID() };
    await deps.sessions.writeIdentity(platform, userId, fresh);
    return (cached = fresh);
  };
  // One read for concurrent callers (and for `warm`); a failed read is tried again next time.
  const identity = (): Promise<UserIdentity> => {
    if (cached) return Promise.resolve(cached);
    loading ??= load().finally(() => (loading = undefined));
    return loading;
  };

  const personalToken = async (): Promise<string | undefined> => {
    const sealed = (await identity()).personalToken;
    if (!sealed || !deps.cipher) return undefined;
    try {
      return deps.cipher.decrypt(sealed);
    } catch {
      // Sealed under another key: as if never given, until the person sends /login again.
      return undefined;
    }
  };

  const fetchToken = async (): Promise<string> => {
    const current = await identity();
    let issued: AnonymousToken;
    try {
      issued = await anonymousTokenFor(current.clientId);
    } catch (error) {
      // HTTP 400 means the service did not see the X-Client-Id: send it once more.
      if (!(error instanceof NemoApiError) || error.status !== 400) throw refusal(error);
      issued = await anonymousTokenFor(current.clientId).catch((again: unknown) => Promise.reject(refusal(again)));
    }
    const next: UserIdentity = { ...current, token: issued.token, tokenExpiresAt: issued.expiresAt, nemoUserId: issued.userId };
    await deps.sessions.writeIdentity(platform, userId, next);
    cached = next;
    return issued.token;
  };

  const anonymousTokenFor = (clientId: string) => deps.nemo.anonymousToken(clientId, platform);

  const anonymous = async (): Promise<boolean> => !deps.operatorToken && (await personalToken()) === undefined;

  const credentials: UserCredentials = {
    platform,
    async token() {
      const own = await personalToken();
      if (own) return own;
      if (deps.operatorToken) return deps.operatorToken;
      const current = await identity();
      const expired = current.tokenExpiresAt !== undefined && Date.parse(current.tokenExpiresAt) - EXPIRY_MARGIN_MS < Date.now();
      if (current.token && !expired) return current.token;
      return fetchToken();
    },
    async nemoUserId() {
      return (await anonymous()) ? (await identity()).nemoUserId : undefined;
    },
    isAnonymous: anonymous,
    warm() {
      if (cached || loading || peeked) return;
      peeked = deps.sessions.readIdentity(platform, userId).then(
        (stored) => (stored ? (cached = stored) : undefined),
        () => undefined,
      );
    },
    async isShared() {
      return deps.operatorToken !== undefined && (await personalToken()) === undefined;
    },
  };
  // Only an anonymous token can be renewed (with the same client id); others are refused as they are.
  credentials.renew = async () => {
    if (!(await anonymous())) throw new NemoApiError({ status: 401, nemoCode: 1001, endpoint: 'token', serviceMessage: 'token refused' });
    return fetchToken();
  };
  return credentials;
}

/** A refusal of the token call itself (not a network failure) is the per-address quota. */
function refusal(error: unknown): unknown {
  return error instanceof NemoApiError && error.status !== 400 && error.status < 500 ? new AnonymousTokenRefusedError(error) : error;
}
