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
 * person's current one before the message is handled. Returns false when the message must go
 * no further: the project is someone else's (said politely) or gone. A reply to any other
 * message is an ordinary one.
 */
export async function followReply(deps: ReplyContinueDeps, conv: Conversation, message: IncomingMessage): Promise<boolean> {
  if (message.replyToMessageId === undefined) return true;
  const owner = await deps.messages.lookup(message.address, message.replyToMessageId);
  if (!owner) return true;
  if (owner.userId !== conv.key.userId) {
    await conv.reply.send(t(conv.lang, 'replyNotYours'));
    return false;
  }
  const result = await deps.projects.switchTo(conv, owner.projectRef);
  if (!result) {
    await conv.reply.send(t(conv.lang, 'projectGone'));
    return false;
  }
  if (result.switched) await conv.reply.send(t(conv.lang, 'continuing', { title: projectTitle(result.record, conv.lang) }));
  return true;
}
