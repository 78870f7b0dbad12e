import { randomUUID } from 'node:crypto';
import { NemoApiError, NemoCode } from '../nemo/errors.js';
import type { Credits, NemoCredentials } from '../nemo/types.js';
import type { AccessPolicy } from './access-policy.js';
import type { Conversation } from './conversation.js';
import { t } from './i18n.js';
import type { SessionStore } from './session-store.js';
import type { TokenCipher } from './token-cipher.js';
import type { TurnGate } from './turn-gate.js';
import type { ChatAddress, IncomingMessage } from './types.js';
import type { UsageStats } from './usage-stats.js';

export interface AccountDeps {
  api: { credits(cred: NemoCredentials): Promise<Credits> };
  sessions: SessionStore;
  gate: TurnGate;
  access: AccessPolicy;
  usage: UsageStats;
  renders: { inFlight(): Promise<number> };
  cipher?: TokenCipher | undefined;
}

/** `/login <token>`: a person's own NemoVideo token, checked with the service, then sealed; never echoed. */
export async function login(deps: AccountDeps, conv: Conversation, message: IncomingMessage, token: string): Promise<void> {
  const { lang, reply } = conv;
  const isPrivate = message.chatKind === 'private' || message.platform === 'console';
  let deleted = false;
  if (token && message.deleteOriginal) {
    // The token must not stay in the chat, wherever it was posted.
    try {
      await message.deleteOriginal();
      deleted = true;
    } catch (error) {
      conv.log.warn({ err: { name: (error as Error).name, code: (error as { code?: unknown }).code } }, 'could not delete a /login message');
    }
  }
  if (!isPrivate) {
    // In a shared chat the token (if any) was seen: gone, or to be revoked; an ephemeral exchange showed it to nobody.
    const refusal = !token.trim() || message.seenOnlyBySender ? 'loginPrivateOnly' : deleted ? 'loginDeletedPrivateOnly' : 'loginNotDeleted';
    return void (await reply.send(t(lang, refusal)));
  }
  if (!deps.cipher) return void (await reply.send(t(lang, 'loginDisabled')));
  const candidate = token.trim();
  if (!/^\S{8,}$/.test(candidate)) return void (await reply.send(t(lang, 'loginUsage')));
  try {
    await deps.api.credits({ platform: conv.key.platform, token: () => Promise.resolve(candidate) });
  } catch (error) {
    if (error instanceof NemoApiError && (error.status === 401 || error.nemoCode === NemoCode.TokenInvalid)) {
      return void (await reply.send(t(lang, 'loginInvalid')));
    }
    throw error;
  }
  await setPersonalToken(deps, conv, deps.cipher.encrypt(candidate));
  await reply.send(t(lang, 'loginDone'));
}

/** `/logout`: forgets the person's own token. */
export async function logout(deps: AccountDeps, conv: Conversation): Promise<void> {
  await setPersonalToken(deps, conv, undefined);
  await conv.reply.send(t(conv.lang, 'logoutDone'));
}

/** Projects belong to the account that made them, so switching accounts starts afresh. */
async function setPersonalToken(deps: AccountDeps, conv: Conversation, sealed: string | undefined): Promise<void> {
  const { platform, userId } = conv.key;
  const current = (await deps.sessions.readIdentity(platform, userId)) ?? { clientId: randomUUID() };
  const { personalToken: _old, ...rest } = current;
  await deps.sessions.writeIdentity(platform, userId, sealed ? { ...rest, personalToken: sealed } : rest);
  await deps.gate.clear(conv.key);
  await deps.sessions.delete(conv.key);
}

/** `/stats`, for admins: people, today's turns and exports, renders in flight, credits. */
export async function stats(deps: AccountDeps, conv: Conversation, address: ChatAddress): Promise<void> {
  if (!deps.access.isAdmin(address)) return void (await conv.reply.send(t(conv.lang, 'adminOnly')));
  let credits = '—';
  try {
    const balance = await deps.api.credits(conv.cred);
    credits = `${balance.available} / ${balance.total}`;
  } catch (error) {
    conv.log.warn({ err: { name: (error as Error).name } }, 'credits for stats failed');
  }
  const [users, turns, renders, inFlight] = await Promise.all([
    deps.usage.users(),
    deps.usage.today('turns'),
    deps.usage.today('renders'),
    deps.renders.inFlight(),
  ]);
  await conv.reply.send(t(conv.lang, 'stats', { users, turns, renders, inFlight, credits }));
}
