import { MediaError } from './media-error.js';
import { spawnTool } from './child-process.js';

export interface RunToolOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Each line ffmpeg writes to stdout (its `-progress pipe:1` output). */
  onStdoutLine?: (line: string) => void;
  /** Keep stdout (ffprobe's JSON), up to this many bytes. */
  keepStdoutBytes?: number;
}

/**
 * Runs ffmpeg/ffprobe to the end and returns what it printed on stdout (when asked to keep it).
 * Killed past `timeoutMs` or on abort; a missing binary is `media_tool_missing`, a non-zero exit
 * `media_encode_failed` with the last line of stderr.
 */
export async function runTool(command: string, args: readonly string[], options: RunToolOptions): Promise<string> {
  if (options.signal?.aborted) throw new MediaError('media_aborted', `${command} aborted before it started`);
  const child = spawnTool(command, args);
  let failure: MediaError | undefined;
  const fail = (error: MediaError): void => {
    failure ??= error;
    child.kill('SIGKILL');
  };

  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-2000);
  });
  let kept = '';
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    if (options.keepStdoutBytes !== undefined && kept.length < options.keepStdoutBytes) kept += chunk;
    if (options.onStdoutLine === undefined) return;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.onStdoutLine(line.trim());
  });

  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      failure ??=
        error.code === 'ENOENT'
          ? new MediaError('media_tool_missing', `${command} was not found`, { cause: error })
          : new MediaError('media_encode_failed', `${command} could not start: ${error.code ?? error.message}`, { cause: error });
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });
  const timer = setTimeout(() => fail(new MediaError('media_timeout', `${command} took over ${options.timeoutMs} ms`)), options.timeoutMs);
  const onAbort = (): void => fail(new MediaError('media_aborted', `${command} aborted`));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const code = await exited;
    if (failure) throw failure;
    if (code !== 0) {
      // setpriv exits 127 when it cannot exec the tool: that is a missing tool too.
      if (code === 127) throw new MediaError('media_tool_missing', `${command} was not found`);
      const reason = stderrTail.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
      throw new MediaError('media_encode_failed', `${command} exited with ${code ?? 'a signal'}${reason ? `: ${reason}` : ''}`);
    }
    return kept;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
