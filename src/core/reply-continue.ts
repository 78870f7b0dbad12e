import type { Conversation } from './conversation.js';
import { t } from './i18n.js';
import type { MessageProjects } from './message-projects.js';
import type { ProjectService } from './project-service.js';
import { projectTitle } from './project-list.js';
import type { IncomingMessage } from './types.js';

export interface ReplyContinueDeps {
  messages: Pick<MessageProjects, 'lookup'>;
  projects: Pick<ProjectService, 'switchTo'>;
}

/**
 * A reply to a message the bot posted for a project continues that project: it becomes the
 * person's current one before the message is handled. Only the owner continues a project: in a
 * group, another member's reply is their own message, in their own project, and their explicit
 * "continue this project" on someone else's is refused politely. Returns false when the message
 * must go no further (refused, or the project is gone). A reply to any other message is an
 * ordinary one.
 */
export async function followReply(deps: ReplyContinueDeps, conv: Conversation, message: IncomingMessage): Promise<boolean> {
  // A button of one of the person's projects (the press was checked as theirs): that project first.
  if (message.forProject !== undefined) return enter(deps, conv, message.forProject);
  if (message.replyToMessageId === undefined) return true;
  const owner = await deps.messages.lookup(message.address, message.replyToMessageId);
  if (!owner) return true;
  if (owner.userId !== conv.key.userId) {
    if (message.continuesProject !== true) return true;
    await conv.reply.send(t(conv.lang, 'replyNotYours'));
    return false;
  }
  return enter(deps, conv, owner.projectRef);
}

/** Makes `ref` the person's current project, saying so when it was not; false when it is gone. */
async function enter(deps: ReplyContinueDeps, conv: Conversation, ref: string): Promise<boolean> {
  const result = await deps.projects.switchTo(conv, ref);
  if (!result) {
    await conv.reply.send(t(conv.lang, 'projectGone'));
    return false;
  }
  if (result.switched) await conv.reply.send(t(conv.lang, 'continuing', { title: projectTitle(result, conv.lang) }));
  return true;
}
