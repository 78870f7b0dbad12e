import { z } from 'zod';

/**
 * An id the service documents as a string. If a server ever sends a number it is accepted
 * and turned into its exact digits: `parseJson` keeps integers beyond 2^53 as their source
 * text, so a 19-digit session id never loses precision.
 */
export const idSchema = z.union([z.string(), z.number()]).transform((value) => String(value));

// Optional numbers are read tolerantly: a null, a numeric string or garbage never fails a whole answer.
const looseNumber = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
  z.number().optional().catch(undefined),
);

const looseString = z.string().nullish().catch(undefined).transform((value) => value ?? undefined);

/** `{code, message?, data}`: the common envelope. */
export const envelopeSchema = z.object({
  code: z.number(),
  message: z.string().nullish(),
  data: z.unknown(),
});

export const anonymousTokenDataSchema = z.object({
  token: z.string().min(1),
  user_id: idSchema,
  expires_at: z.string(),
  credits: looseNumber,
});

export const sessionDataSchema = z.object({
  task_id: idSchema,
  session_id: idSchema,
  user_id: idSchema,
});

export const claimTokenDataSchema = z.object({
  claim_token: z.string().min(1),
  expires_in: looseNumber,
});

export const uploadedFileSchema = z.object({
  filename: z.string(),
  file_type: looseString,
  cdn_url: looseString,
  duration: looseNumber,
  width: looseNumber,
  height: looseNumber,
});

export const uploadDataSchema = z.object({
  files: z.array(uploadedFileSchema),
});

export const creditsDataSchema = z.object({
  available: z.coerce.number(),
  frozen: z.coerce.number().catch(0),
  total: z.coerce.number(),
});

export const stateDataSchema = z.object({
  state: z
    .object({
      draft: z.unknown(),
      video_infos: z.unknown(),
      canvas_config: z.unknown(),
      generated_media: z.unknown(),
    })
    .nullish(),
});

const renderOutputSchema = z
  .object({ url: looseString, size: looseNumber, duration: looseNumber })
  .nullish()
  .catch(undefined);

const renderErrorSchema = z
  .union([z.string(), z.object({ message: z.string() }).transform((value) => value.message)])
  .nullish()
  .catch(undefined)
  .transform((value) => (value === null || value === undefined || value.trim() === '' ? undefined : value));

/** The fields of any of the three render answer shapes, all optional. */
export const renderFieldsSchema = z.object({
  id: idSchema.optional().catch(undefined),
  renderId: idSchema.optional().catch(undefined),
  status: looseString,
  progress: looseNumber,
  output: renderOutputSchema,
  outputUrl: looseString,
  url: looseString,
  size: looseNumber,
  error: renderErrorSchema,
});
export type RenderFields = z.infer<typeof renderFieldsSchema>;
