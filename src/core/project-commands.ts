import { createHash, randomUUID } from 'node:crypto';
import { isExportable, parseDraft } from '../nemo/draft.js';
import { takeQuota, type AdmissionDeps } from './admission.js';
import type { Conversation } from './conversation.js';
import type { EngineApi } from './engine-deps.js';
import { t } from './i18n.js';
import type { ProjectService } from './project-service.js';
import { projectTitle, projectsText, versionsText } from './project-list.js';
import { PROJECT_BUTTON_ACTION } from './commands.js';
import { ProjectRefSchema } from './project-ref.js';
import { projectRefOf, type SessionStore } from './session-store.js';
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
    const [state, info] = await Promise.all([deps.api.state(conv.cred, record.sessionId), deps.sessions.projectInfo(conv.key, record)]);
    const link = deps.projects.link(record);
    const header = t(conv.lang, 'statusProject', { title: projectTitle(info, conv.lang), versions: versionsText(info, conv.lang) });
    const summary = `${header}\n\n${timelineSummary(parseDraft(state.draft), conv.lang)}`;
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
    let version: number | undefined;
    try {
      const state = await deps.api.state(conv.cred, record.sessionId);
      if (!isExportable(state.draft)) {
        await conv.reply.send(t(conv.lang, 'nothingToExport'));
        return;
      }
      if ((await takeQuota(deps, conv, 'renders')) === 'refused') return;
      // Numbered when queued, per project: the caption says "v3", and `status` lists the versions.
      version = await deps.sessions.nextVersion(conv.key, record);
      await deps.projects.queueRender(conv, record, renderId, state.draft, version);
      queued = true;
      conv.log.info({ renderId }, 'render queued');
      await deps.usage.count('renders');
    } finally {
      if (!queued) {
        await deps.projects.releaseExport(record.sessionId, renderId);
        // Numbered but never queued: the number goes back, as a failed render's does.
        if (version !== undefined) await deps.sessions.giveBackVersion(conv.key, projectRefOf(record), version).catch(() => false);
      }
    }
  });
}

/** `/projects`: the person's projects in this chat, the latest first, with their titles, last activity and exports. */
export async function listProjects(deps: ProjectCommandDeps, conv: Conversation): Promise<void> {
  const [projects, current] = await Promise.all([deps.sessions.listProjects(conv.key), deps.sessions.read(conv.key)]);
  if (projects.length === 0) {
    await conv.reply.send(t(conv.lang, 'projectsNone'));
    return;
  }
  const currentRef = current ? projectRefOf(current) : undefined;
  // A button per project to switch to (the current one has none), as numbered in the text.
  const buttons = projects.flatMap((project, i) =>
    projectRefOf(project.record) === currentRef || i >= MAX_PROJECT_BUTTONS
      ? []
      : [{ label: buttonLabel(`${i + 1}. ${projectTitle(project, conv.lang)}`), action: PROJECT_BUTTON_ACTION, project: project.record.sessionId }],
  );
  await conv.reply.send(projectsText(projects, currentRef, conv.lang, Date.now()), buttons.length > 0 ? { buttons, oneColumn: true } : undefined);
}

// Discord shows 25 buttons at most; a list this long is read, not pressed.
const MAX_PROJECT_BUTTONS = 10;
const MAX_LABEL_CHARS = 40;

function buttonLabel(text: string): string {
  const chars = [...text];
  return chars.length <= MAX_LABEL_CHARS ? text : `${chars.slice(0, MAX_LABEL_CHARS - 1).join('')}…`;
}

/** `/switch N` (the N-th of `/projects`) or `/switch <ref>` (a project button): makes it the current project. */
export async function switchProject(deps: ProjectCommandDeps, conv: Conversation, argument: string): Promise<void> {
  const wanted = argument.trim();
  let ref: string | undefined;
  let count = 0;
  if (/^\d{1,3}$/.test(wanted)) {
    const projects = await deps.sessions.listProjects(conv.key);
    count = projects.length;
    const chosen = projects[Number(wanted) - 1];
    ref = chosen ? projectRefOf(chosen.record) : undefined;
  } else if (ProjectRefSchema.safeParse(wanted).success) {
    ref = wanted;
  }
  if (ref === undefined) {
    if (count === 0 && !/^\d{1,3}$/.test(wanted)) count = (await deps.sessions.listProjects(conv.key)).length;
    await conv.reply.send(count === 0 ? t(conv.lang, 'projectsNone') : t(conv.lang, 'switchUsage', { count }));
    return;
  }
  const result = await deps.projects.switchTo(conv, ref);
  if (!result) {
    await conv.reply.send(t(conv.lang, 'projectGone'));
    return;
  }
  const title = projectTitle(result, conv.lang);
  await conv.reply.send(t(conv.lang, result.switched ? 'switchedTo' : 'alreadyCurrent', { title }));
}

/** A UUID-shaped id derived from `seed`, so the same message always names the same render. */
function stableUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
