import { admitted, linksWithinCap, quotaApplies, takeQuota, tellRefused, type AdmissionDeps } from './admission.js';
import type { Conversation } from './conversation.js';
import type { EngineApi } from './engine-deps.js';
import type { ProjectService } from './project-service.js';
import type { TurnScheduler } from './turn-scheduler.js';
import type { PendingTurn } from './turn-gate.js';
import type { Attachment } from './types.js';
import { mediaLinksIn, receiveUploads, type UploadContext } from './upload-action.js';

export interface ChatCommandDeps extends AdmissionDeps {
  api: Pick<EngineApi, 'uploadUrls'>;
  projects: Pick<ProjectService, 'withProject'>;
  scheduler: Pick<TurnScheduler, 'submit'>;
  uploads: UploadContext;
}

/**
 * A chat turn, or a place in the session's queue when one is running. `counted`: the message
 * was counted against its sender's rate already; else ENTER counts it, or, when work comes
 * before ENTER (link uploads, a daily quota), a check of its own does first.
 */
export async function chat(deps: ChatCommandDeps, conv: Conversation, text: string, options: { uploadLinks: boolean; counted: boolean }): Promise<void> {
  const mediaUrls = options.uploadLinks ? mediaLinksIn(text) : [];
  let counted = options.counted;
  if (!counted && (mediaUrls.length > 0 || (await quotaApplies(deps, conv, 'turns')))) {
    if (!(await admitted(deps, conv, false))) return;
    counted = true;
  }
  if (mediaUrls.length > 0) {
    if (!(await linksWithinCap(deps, conv, mediaUrls))) return;
    if ((await takeQuota(deps, conv, 'uploads', mediaUrls.length)) === 'refused') return;
    // A link to a media file becomes part of the project; the words still go to the agent.
    await deps.projects.withProject(conv, (record) => deps.api.uploadUrls(conv.cred, record.sessionId, mediaUrls));
  }
  const charged = await takeQuota(deps, conv, 'turns');
  if (charged === 'refused') return;
  const turn: PendingTurn = {
    text,
    language: conv.lang,
    address: conv.reply.address,
    receivedAt: Date.now(),
    // A reply to a project's message: if it has to wait, it still runs in that project.
    ...(conv.projectRef === undefined ? {} : { projectRef: conv.projectRef }),
  };
  const rate = counted ? undefined : deps.flood.rateCheck(conv.key.platform, conv.key.userId);
  const refused = await deps.scheduler.submit(conv, turn, rate);
  if (!refused) return;
  // Refused before it was queued: today's count must not keep it.
  if (charged === 'charged') await deps.quota.refund('turns', conv.key.platform, conv.key.userId);
  await tellRefused(deps, conv, refused);
}

/** Files first, then the words that came with them (and any document's text) as a chat turn. */
export async function upload(deps: ChatCommandDeps, conv: Conversation, attachments: Attachment[], text: string): Promise<void> {
  if (!(await linksWithinCap(deps, conv, mediaLinksIn(text)))) return;
  const relay = await receiveUploads(deps.uploads, conv, attachments, text);
  if (relay) await chat(deps, conv, relay, { uploadLinks: false, counted: true });
}
