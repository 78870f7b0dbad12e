import { writeFile } from 'node:fs/promises';
import { arch, cpus, platform } from 'node:os';

/** Microseconds, milliseconds, bytes, bytes per second, or a plain number (a count, a share). */
export type Unit = 'µs' | 'ms' | 'B' | 'B/s' | 'n';

/** What a figure is held against: measured in the same run, on the same machine. */
export interface Limit {
  /** How it was obtained, e.g. `3 × loopback RTT p50`. */
  name: string;
  value: number;
  unit: Unit;
}

export interface Figure {
  benchmark: string;
  name: string;
  value: number;
  unit: Unit;
  limit?: Limit;
  /** `value / limit.value`: the machine-independent part of the figure. */
  ratio?: number;
  /** What we aim for (issue 6); every one must hold for the figure to meet its target. */
  targets?: Target[];
  /** Whether every target holds; absent when the figure has none. */
  met?: boolean;
}

/** An aim for a figure: a bound on its value (in the figure's unit) or on its ratio to the limit. */
export interface Target {
  on: 'value' | 'ratio';
  op: '<' | '≤' | '≥';
  bound: number;
}

export const ratioAtMost = (bound: number): Target => ({ on: 'ratio', op: '≤', bound });
export const ratioAtLeast = (bound: number): Target => ({ on: 'ratio', op: '≥', bound });
export const valueBelow = (bound: number): Target => ({ on: 'value', op: '<', bound });
export const valueAtMost = (bound: number): Target => ({ on: 'value', op: '≤', bound });

/** One benchmark's figures, plus the raw numbers behind them for results.json. */
export interface BenchResult {
  benchmark: string;
  figures: Figure[];
  details: Record<string, unknown>;
  /** Short lines printed under the table: what the figures are made of. */
  notes: string[];
  durationMs: number;
}

/** A figure held against a limit; the ratio is computed here so it always matches the two numbers. */
export function against(figure: Omit<Figure, 'limit' | 'ratio'>, limit: Limit): Figure {
  return { ...figure, limit, ratio: limit.value === 0 ? Number.NaN : figure.value / limit.value };
}

/** The figure with its targets, and whether it meets them (a value that is not a number never does). */
export function withTargets(figure: Figure, ...targets: Target[]): Figure {
  return { ...figure, targets, met: targets.every((target) => meets(figure, target)) };
}

function meets(figure: Figure, target: Target): boolean {
  const measured = target.on === 'ratio' ? figure.ratio : figure.value;
  if (measured === undefined || !Number.isFinite(measured)) return false;
  switch (target.op) {
    case '<':
      return measured < target.bound;
    case '≤':
      return measured <= target.bound;
    case '≥':
      return measured >= target.bound;
  }
}

const KIB = 1024;
const MIB = 1024 * KIB;

function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return 'n/a';
  switch (unit) {
    case 'µs':
      return `${value.toFixed(1)} µs`;
    case 'ms':
      return `${value.toFixed(1)} ms`;
    case 'B':
      // Small per-render figures keep their precision in bytes.
      if (Math.abs(value) >= MIB) return `${(value / MIB).toFixed(1)} MiB`;
      if (Math.abs(value) >= 10 * KIB) return `${(value / KIB).toFixed(1)} KiB`;
      // `+ 0` turns a rounded -0 into 0.
      return `${(Math.round(value) + 0).toLocaleString('en-US')} B`;
    case 'B/s':
      return `${(value / MIB).toFixed(0)} MiB/s`;
    case 'n':
      // Counts per message keep two decimals; whole counts (users answered) need none.
      return Number.isInteger(value) && Math.abs(value) >= 100 ? value.toLocaleString('en-US') : value.toFixed(2);
  }
}

function formatTarget(target: Target, unit: Unit): string {
  return target.on === 'ratio' ? `${target.op} ${target.bound}×` : `${target.op} ${formatValue(target.bound, unit)}`;
}

/** `ratio ≤ 0.3× and ≤ 40.0 MiB`: the targets as the table shows them. */
export function formatTargets(figure: Figure): string {
  return (figure.targets ?? []).map((target) => formatTarget(target, figure.unit)).join(' and ');
}

/**
 * A plain-text table: benchmark, figure, value, the limit measured in this run, the ratio,
 * the target and whether it was met.
 */
export function formatTable(figures: readonly Figure[]): string {
  const header = ['benchmark', 'figure', 'value', 'limit (this run)', 'ratio', 'target', 'met'];
  const rows = figures.map((figure) => [
    figure.benchmark,
    figure.name,
    formatValue(figure.value, figure.unit),
    figure.limit ? `${figure.limit.name} = ${formatValue(figure.limit.value, figure.limit.unit)}` : '',
    figure.ratio === undefined ? '' : `${formatValue(figure.ratio, 'n')}×`,
    formatTargets(figure),
    figure.met === undefined ? '' : figure.met ? 'yes' : 'MISSED',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  // Numbers right-aligned so that they line up by magnitude; words left-aligned.
  const rightAligned = new Set([2, 4]);
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** One line: how many targets were met, and which figures missed theirs. */
export function targetSummary(figures: readonly Figure[]): string {
  const aimed = figures.filter((figure) => figure.met !== undefined);
  const missed = aimed.filter((figure) => figure.met === false);
  const head = `targets: ${aimed.length - missed.length} of ${aimed.length} met`;
  if (missed.length === 0) return head;
  return `${head}; missed: ${missed.map((figure) => `${figure.benchmark} ${figure.name} (${formatTargets(figure)})`).join(', ')}`;
}

export interface ResultsFile {
  mode: string;
  startedAt: string;
  durationMs: number;
  machine: { node: string; platform: string; arch: string; cpu: string; cpus: number };
  figures: Figure[];
  benchmarks: Record<string, { durationMs: number; details: Record<string, unknown> }>;
}

export function resultsFile(mode: string, startedAt: Date, results: readonly BenchResult[]): ResultsFile {
  const cores = cpus();
  return {
    mode,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    machine: { node: process.version, platform: platform(), arch: arch(), cpu: cores[0]?.model ?? 'unknown', cpus: cores.length },
    figures: results.flatMap((result) => result.figures),
    benchmarks: Object.fromEntries(results.map((result) => [result.benchmark, { durationMs: result.durationMs, details: result.details }])),
  };
}

export async function writeResults(path: URL, file: ResultsFile): Promise<void> {
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
}
