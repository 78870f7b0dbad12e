import { z } from 'zod';
import { ChatAddressSchema, LanguageSchema, SessionKeySchema } from '../core/session-store.js';

/** `render_<uuid>`: a NemoVideo render id, also the BullMQ job id (so no `:`). */
export const RenderIdSchema = z.string().regex(/^render_[A-Za-z0-9_-]+$/, 'render id must look like render_<uuid>');

export const RenderPhaseSchema = z.enum(['submit', 'poll', 'deliver']);
export type RenderPhase = z.infer<typeof RenderPhaseSchema>;

/**
 * A render job's whole state: the worker is a state machine over `phase`, and every step
 * writes its progress here before moving on, so any process can resume it. Never a token.
 */
export const RenderJobDataSchema = z.object({
  /** The id NemoVideo knows the render by; replaced once if the first submit fails. */
  renderId: RenderIdSchema,
  sessionKey: SessionKeySchema,
  sessionId: z.string(),
  address: ChatAddressSchema,
  language: LanguageSchema,
  /** The claim link shown with the video. */
  projectLink: z.string().optional(),
  /**
   * `anon_…` of an anonymous user: the `<id>` of the registration link `?bind=<id>`. Set only
   * for an anonymous person, so its presence is the worker's "anonymous" for `errorAnswer`.
   */
  nemoUserId: z.string().optional(),
  /** The project's name as the draft gave it at submit (read tolerantly): names the file in the chat. */
  title: z.string().max(200).optional(),
  /** Only until submitted: dropped from the job afterwards. */
  draft: z.unknown().optional(),
  phase: RenderPhaseSchema,
  polls: z.number().int().nonnegative(),
  submitAttempts: z.number().int().nonnegative(),
  outputUrl: z.string().optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
  lastPercent: z.number().optional(),
  /** The platform refused the file: later runs send the link without downloading it again. */
  fileRefused: z.boolean().optional(),
  correlationId: z.string(),
});
export type RenderJobData = z.infer<typeof RenderJobDataSchema>;

export const RenderJobInputSchema = RenderJobDataSchema.pick({
  renderId: true,
  sessionKey: true,
  sessionId: true,
  address: true,
  language: true,
  projectLink: true,
  nemoUserId: true,
  draft: true,
  correlationId: true,
});
/** What the engine passes to `RenderQueue.enqueue`. */
export type RenderJobInput = z.infer<typeof RenderJobInputSchema>;
