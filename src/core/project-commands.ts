import { createHash, randomUUID } from 'node:crypto';
import { isExportable, parseDraft } from '../nemo/draft.js';
import { takeQuota, type AdmissionDeps } from './admission.js';
import type { Conversation } from './conversation.js';
import type { EngineApi } from './engine-deps.js';
import { t } from './i18n.js';
import type { ProjectService } from './project-service.js';
import type { SessionStore } from './session-store.js';
import { timelineSummary } from './timeline-text.js';
import type { UsageStats } from './usage-stats.js';

export interface ProjectCommandDeps extends AdmissionDeps {
  api: Pick<EngineApi, 'credits' | 'state'>;
  sessions: SessionStore;
  projects: ProjectService;
  usage: Pick<UsageStats, 'count'>;
}

/** `/start`: creates the project on first contact and welcomes the person; later, says what the bot can do. */
export async function start(deps: ProjectCommandDeps, conv: Conversation): Promise<void> {
  const existed = await deps.sessions.read(conv.key);
  await deps.projects.project(conv);
  if (existed) {
    await conv.reply.send(t(conv.lang, 'help'));
    return;
  }
  // The welcome is the answer here: its one-line form is not appended too.
  conv.reply.takeWelcome();
  await conv.reply.send(t(conv.lang, 'welcome'));
}

/** `/new`: a fresh project; its link goes to the person privately. */
export async function newProject(deps: ProjectCommandDeps, conv: Conversation): Promise<void> {
  const record = await deps.projects.replace(conv);
  const link = deps.projects.link(record);
  const text = t(conv.lang, 'newProject');
  // The claim link opens the project for whoever has it: in a group it goes to the person privately.
  if (link) await conv.reply.sendPrivate(`${text}\n${t(conv.lang, 'projectLink', { link })}`, text);
  else await conv.reply.send(text);
}

/** `/credits`: the balance of the account the person's project runs on. */
export async function credits(deps: ProjectCommandDeps, conv: Conversation): Promise<void> {
  // The token's identity read goes out with the session read: one Redis round trip for both.
  conv.cred.warm();
  await deps.projects.project(conv);
  const balance = await deps.api.credits(conv.cred);
  await conv.reply.send(t(conv.lang, 'credits', balance));
}

/** `/status`: the project's timeline, with its link sent privately. */
export async function status(deps: ProjectCommandDeps, conv: Conversation): Promise<void> {
  conv.cred.warm();
  await deps.projects.withProject(conv, async (record) => {
    const state = await deps.api.state(conv.cred, record.sessionId);
    const link = deps.projects.link(record);
    const summary = timelineSummary(parseDraft(state.draft), conv.lang);
    if (link) await conv.reply.sendPrivate(`${summary}\n\n${t(conv.lang, 'projectLink', { link })}`, summary);
    else await conv.reply.send(summary);
  });
}

/** `/export`: one render per project, queued for the render worker when there is something to render. */
export async function exportVideo(deps: ProjectCommandDeps, conv: Conversation): Promise<void> {
  conv.cred.warm();
  await deps.projects.withProject(conv, async (record) => {
    // From the inbox id when there is one: a message handled again after a crash queues the same render.
    const renderId = conv.inboxId ? `render_${stableUuid(conv.inboxId)}` : `render_${randomUUID()}`;
    if (!(await deps.projects.claimExport(conv, record.sessionId, renderId))) return;
    let queued = false;
    try {
      const state = await deps.api.state(conv.cred, record.sessionId);
      if (!isExportable(state.draft)) {
        await conv.reply.send(t(conv.lang, 'nothingToExport'));
        return;
      }
      if ((await takeQuota(deps, conv, 'renders')) === 'refused') return;
      await deps.projects.queueRender(conv, record, renderId, state.draft);
      queued = true;
      conv.log.info({ renderId }, 'render queued');
      await deps.usage.count('renders');
    } finally {
      if (!queued) await deps.projects.releaseExport(record.sessionId, renderId);
    }
  });
}

/** A UUID-shaped id derived from `seed`, so the same message always names the same render. */
function stableUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
