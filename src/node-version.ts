// Loaded before anything else by main.ts, on whatever Node runs us: no imports, and nothing a
// Node 18 or 20 could fail to load (that is the point of the check).

/** The oldest Node the code runs on; the `engines` field of package.json says the same. */
export const MIN_NODE = { major: 22, minor: 19 } as const;

/** The line to print when `found` (e.g. process.versions.node) is too old, else undefined. */
export function nodeVersionProblem(found: string, execPath = 'node'): string | undefined {
  const [major = 0, minor = 0] = found.split('.').map((part) => Number.parseInt(part, 10) || 0);
  if (major > MIN_NODE.major || (major === MIN_NODE.major && minor >= MIN_NODE.minor)) return undefined;
  return (
    `nemo-video-bot needs Node.js ${MIN_NODE.major}.${MIN_NODE.minor} or newer (24 LTS recommended), ` +
    `but this is Node.js ${found} (${execPath}). Get Node 24 with ` +
    `npm install -g --prefix "$HOME/.node24" node@24 && export PATH="$HOME/.node24/bin:$PATH" ` +
    `(or: nvm install 24), then run the same command again.`
  );
}
