/** Discord's limit on a message's `content`. */
export const MAX_CONTENT_CHARS = 2000;

/**
 * Splits text into pieces of at most `max` characters, at a line break or a space when one is
 * in the second half of the piece, and never inside a surrogate pair.
 */
export function splitText(text: string, max = MAX_CONTENT_CHARS): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    let cut = window.lastIndexOf('\n');
    if (cut < max / 2) cut = window.lastIndexOf(' ');
    if (cut < max / 2) cut = max;
    if (isHighSurrogate(rest.charCodeAt(cut - 1))) cut -= 1;
    pieces.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).replace(/^[\n ]/, '');
  }
  if (rest.length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces.filter((piece, index) => piece.length > 0 || index === 0);
}

/** The text cut to `max` characters with an ellipsis, for edits (an edit cannot add messages). */
export function truncateText(text: string, max = MAX_CONTENT_CHARS): string {
  if (text.length <= max) return text;
  let cut = max - 1;
  if (isHighSurrogate(text.charCodeAt(cut - 1))) cut -= 1;
  return `${text.slice(0, cut)}…`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
