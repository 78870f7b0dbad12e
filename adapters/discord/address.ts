import { z } from 'zod';
import type { ChatAddress } from '../../src/core/types.js';

/**
 * What a Discord `ChatAddress` carries in `extra`: everything the outbox needs later, in any
 * process, to answer where the request came from.
 */
export const DiscordExtraSchema = z.object({
  guildId: z.string().optional(),
  /** Lets replies edit the interaction's reply; valid until `interactionExpiresAt`. */
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
  applicationId: string;
  token: string;
  expiresAt: number;
}

/** The interaction to answer through, while its token still lives. */
export function liveInteraction(address: ChatAddress, now = Date.now()): LiveInteraction | undefined {
  const { interactionToken, interactionExpiresAt, applicationId } = discordExtra(address);
  if (interactionToken === undefined || interactionExpiresAt === undefined || applicationId === undefined) return undefined;
  if (now >= interactionExpiresAt) return undefined;
  return { applicationId, token: interactionToken, expiresAt: interactionExpiresAt };
}
