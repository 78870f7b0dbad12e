import { writeFile } from 'node:fs/promises';
import { arch, cpus, platform } from 'node:os';

/** Microseconds, bytes, or a plain number (a count per message). */
export type Unit = 'µs' | 'B' | 'n';

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
}

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

function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return 'n/a';
  switch (unit) {
    case 'µs':
      return `${value.toFixed(1)} µs`;
    case 'B':
      return `${Math.round(value).toLocaleString('en-US')} B`;
    case 'n':
      return value.toFixed(2);
  }
}

/** A plain-text table: benchmark, figure, value, the limit measured in this run, and the ratio. */
export function formatTable(figures: readonly Figure[]): string {
  const header = ['benchmark', 'figure', 'value', 'limit (this run)', 'ratio'];
  const rows = figures.map((figure) => [
    figure.benchmark,
    figure.name,
    formatValue(figure.value, figure.unit),
    figure.limit ? `${figure.limit.name} = ${formatValue(figure.limit.value, figure.limit.unit)}` : '',
    figure.ratio === undefined ? '' : `${formatValue(figure.ratio, 'n')}×`,
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
