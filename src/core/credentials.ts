import { randomUUID } from 'node:crypto';
import { NemoApiError } from '../nemo/errors.js';
import type { AnonymousToken, NemoCredentials } from '../nemo/types.js';
import type { SessionStore, UserIdentity } from './session-store.js';
import type { Platform } from './types.js';

export interface CredentialDeps {
  nemo: { anonymousToken(clientId: string, platform: string): Promise<AnonymousToken> };
  sessions: Pick<SessionStore, 'readIdentity' | 'writeIdentity'>;
  /** `NEMO_TOKEN`: shared by every user, never renewed. */
  operatorToken?: string | undefined;
}

export interface UserCredentials extends NemoCredentials {
  /** `anon_…` of an anonymous token: the `?bind=` id of the registration link. */
  nemoUserId(): Promise<string | undefined>;
  readonly anonymous: boolean;
}

// Renew a little before the service would refuse the token.
const EXPIRY_MARGIN_MS = 60_000;

/**
 * The bearer for one person: the operator's token when set, else their own anonymous token,
 * fetched with a client id that is kept forever so renewals stay within the service's quota.
 */
export function credentialsFor(deps: CredentialDeps, platform: Platform, userId: string): UserCredentials {
  const operatorToken = deps.operatorToken;
  if (operatorToken) {
    return {
      platform,
      anonymous: false,
      token: () => Promise.resolve(operatorToken),
      nemoUserId: () => Promise.resolve(undefined),
    };
  }

  let cached: UserIdentity | undefined;

  const identity = async (): Promise<UserIdentity> => {
    if (cached) return cached;
    const stored = await deps.sessions.readIdentity(platform, userId);
    if (stored) return (cached = stored);
    const fresh: UserIdentity = { clientId: randomUUID() };
    await deps.sessions.writeIdentity(platform, userId, fresh);
    return (cached = fresh);
  };

  const fetchToken = async (): Promise<string> => {
    const current = await identity();
    let issued: AnonymousToken;
    try {
      issued = await deps.nemo.anonymousToken(current.clientId, platform);
    } catch (error) {
      // HTTP 400 means the service did not see the X-Client-Id: send it once more.
      if (!(error instanceof NemoApiError) || error.status !== 400) throw error;
      issued = await deps.nemo.anonymousToken(current.clientId, platform);
    }
    const next: UserIdentity = {
      clientId: current.clientId,
      token: issued.token,
      tokenExpiresAt: issued.expiresAt,
      nemoUserId: issued.userId,
    };
    await deps.sessions.writeIdentity(platform, userId, next);
    cached = next;
    return issued.token;
  };

  return {
    platform,
    anonymous: true,
    async token() {
      const current = await identity();
      const expired = current.tokenExpiresAt !== undefined && Date.parse(current.tokenExpiresAt) - EXPIRY_MARGIN_MS < Date.now();
      if (current.token && !expired) return current.token;
      return fetchToken();
    },
    renew: fetchToken,
    async nemoUserId() {
      return (await identity()).nemoUserId;
    },
  };
}
