import { t } from './i18n.js';
import { projectRefOf, type ProjectInfo } from './session-store.js';
import type { Language } from './types.js';

const TITLE_CHARS = 40;

/** A project's title from its first prompt: one line, at most `TITLE_CHARS` characters. */
export function titleFromPrompt(prompt: string): string | undefined {
  const line = prompt.replace(/\s+/g, ' ').trim();
  if (line === '') return undefined;
  const chars = [...line];
  return chars.length <= TITLE_CHARS ? line : `${chars.slice(0, TITLE_CHARS - 1).join('').trimEnd()}…`;
}

// `status` names the last versions only.
const VERSIONS_SHOWN = 10;

export function projectTitle(project: Pick<ProjectInfo, 'title'>, lang: Language): string {
  return project.title ?? t(lang, 'projectUntitled');
}

/** "v1, v2, v3" (the last `VERSIONS_SHOWN`), or that none was exported yet. */
export function versionsText(project: Pick<ProjectInfo, 'exports'>, lang: Language): string {
  const count = project.exports;
  if (count === 0) return t(lang, 'statusNoVersions');
  const first = Math.max(1, count - VERSIONS_SHOWN + 1);
  const versions = Array.from({ length: count - first + 1 }, (_, i) => `v${first + i}`);
  return (first > 1 ? '…, ' : '') + versions.join(', ');
}

export function agoText(ms: number, lang: Language): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 60) return t(lang, 'agoMinutes', { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return t(lang, 'agoHours', { n: hours });
  return t(lang, 'agoDays', { n: Math.floor(hours / 24) });
}

/** The `/projects` answer: numbered as `/switch N` takes them. */
export function projectsText(projects: readonly ProjectInfo[], currentRef: string | undefined, lang: Language, now: number): string {
  const lines = projects.map((project, i) =>
    t(lang, 'projectLine', {
      n: i + 1,
      title: projectTitle(project, lang),
      ago: agoText(now - project.record.updatedAt, lang),
      exports: project.exports,
      current: projectRefOf(project.record) === currentRef,
    }),
  );
  return t(lang, 'projectsList', { lines: lines.join('\n') });
}
