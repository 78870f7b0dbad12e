import { z } from 'zod';
import type { ChatAddress } from '../../src/core/types.js';

/**
 * What a Discord `ChatAddress` carries in `extra`: everything the outbox needs later, in any
 * process, to answer where the request came from.
 */
export const DiscordExtraSchema = z.object({
  guildId: z.string().optional(),
  /** The interaction replies go through, until `interactionExpiresAt`; its token is in `InteractionTokens`. */
  interactionId: z.string().optional(),
  /** Only in addresses written by earlier versions: the token itself. */
  interactionToken: z.string().optional(),
  /** Epoch ms, kept a minute inside Discord's 15-minute token life. */
  interactionExpiresAt: z.number().optional(),
  applicationId: z.string().optional(),
  /** The interaction's `attachment_size_limit`, in bytes. */
  uploadLimit: z.number().int().positive().optional(),
});
export type DiscordExtra = z.infer<typeof DiscordExtraSchema>;

/** The Discord extras of an address; anything malformed is dropped, never trusted. */
export function discordExtra(address: ChatAddress): DiscordExtra {
  const parsed = DiscordExtraSchema.safeParse(address.extra ?? {});
  return parsed.success ? parsed.data : {};
}

export interface LiveInteraction {
  /** The interaction's id (its token, for an address of an earlier version). */
  id: string;
  applicationId: string;
  token: string;
  expiresAt: number;
}

/** The interaction of an address of an earlier version, which carried its token, while that token lives. */
export function liveInteraction(address: ChatAddress, now = Date.now()): LiveInteraction | undefined {
  const { interactionToken, interactionExpiresAt, applicationId } = discordExtra(address);
  if (interactionToken === undefined || interactionExpiresAt === undefined || applicationId === undefined) return undefined;
  if (now >= interactionExpiresAt) return undefined;
  return { id: interactionToken, applicationId, token: interactionToken, expiresAt: interactionExpiresAt };
}

/** The interaction an address answers through, without its token: enough to know a reply is pending. */
export function interactionRef(address: ChatAddress, now = Date.now()): { id: string; expiresAt: number } | undefined {
  const { interactionId, interactionToken, interactionExpiresAt } = discordExtra(address);
  const id = interactionId ?? interactionToken;
  if (id === undefined || interactionExpiresAt === undefined || now >= interactionExpiresAt) return undefined;
  return { id, expiresAt: interactionExpiresAt };
}
