/**
 * The message ids this adapter hands the core. A message posted through an interaction's
 * webhook is `i:<id>` (it can be edited only with the interaction's token); one posted with the
 * bot token is the bare `<id>`. The core stores them in jobs, so the kind survives restarts.
 */
export interface MessageRef {
  via: 'interaction' | 'channel';
  id: string;
}

const INTERACTION_PREFIX = 'i:';

export function encodeMessageRef(ref: MessageRef): string {
  return ref.via === 'interaction' ? `${INTERACTION_PREFIX}${ref.id}` : ref.id;
}

export function decodeMessageRef(value: string): MessageRef {
  return value.startsWith(INTERACTION_PREFIX)
    ? { via: 'interaction', id: value.slice(INTERACTION_PREFIX.length) }
    : { via: 'channel', id: value };
}
