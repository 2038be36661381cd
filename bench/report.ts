/** The Markdown report of a benchmark run (pure: results in, text out). */
import type { Figure, SectionResult, Unit } from './figures.js';
import type { Quiet } from './lib/quiet.js';

export interface RunInfo {
  date: string;
  mode: 'quick' | 'full';
  seconds: number;
  machine: string;
  versions: Record<string, string>;
  /** The machine's 1-minute load average as each section began, by section number. */
  loadBefore: Record<string, number>;
  /** How busy the cores were as each section began, after waiting up to a minute for them. */
  cpuBefore?: Record<string, Quiet>;
}

export interface BenchResults {
  info: RunInfo;
  sections: Record<string, SectionResult | { error: string }>;
}

function decimals(value: number, unit: Unit): number {
  if (unit === 'tx/s') return 0;
  if (unit === 'jobs/s' || unit === 's') return Math.abs(value) < 10 ? 2 : 1;
  if (unit === 'MiB') return 1;
  return Math.abs(value) < 10 ? 1 : 0;
}

export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return '–';
  return value.toFixed(decimals(value, unit));
}

function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}

function row(cells: string[]): string {
  return `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function figureRow(fig: Figure): string {
  const { summary, unit } = fig;
  const ratios = fig.ratios
    .map(
      (ratio) =>
        `${formatRatio(ratio.summary.median)} vs ${ratio.against} ` +
        `(${formatRatio(ratio.summary.min)} – ${formatRatio(ratio.summary.max)})`,
    )
    .join('<br>');
  return row([
    fig.section,
    fig.subject,
    `${formatValue(summary.median, unit)} ${unit}`,
    `${formatValue(summary.min, unit)} – ${formatValue(summary.max, unit)}`,
    String(summary.n),
    ratios,
  ]);
}

export function renderMarkdown(results: BenchResults): string {
  const { info } = results;
  const lines: string[] = [];
  const minutes = (info.seconds / 60).toFixed(1);
  lines.push(
    `**${info.mode === 'quick' ? 'Quick' : 'Full'} run** of ${info.date}, ${minutes} min; ${info.machine}.`,
  );
  lines.push('');
  lines.push(
    Object.entries(info.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(' · '),
  );
  const loads = Object.entries(info.loadBefore)
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([section, load]) => `${section}: ${load}`);
  if (loads.length > 0) {
    lines.push('');
    lines.push(`1-minute load average as each section began (2 CPUs): ${loads.join(', ')}.`);
  }
  const quiet = Object.entries(info.cpuBefore ?? {})
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(
      ([section, q]) =>
        `${section}: ${(q.busy * 100).toFixed(0)} %${q.waitedSeconds >= 1 ? ` after ${q.waitedSeconds.toFixed(0)} s` : ''}`,
    );
  if (quiet.length > 0) {
    lines.push('');
    lines.push(
      `CPU busy as each section began (every core, over half a second; each waited up to a minute for under 15 %): ${quiet.join(', ')}.`,
    );
  }
  lines.push('');
  lines.push(
    row([
      'figure',
      'what',
      'median',
      'min – max',
      'runs',
      'ratio, pair by pair: median (min – max)',
    ]),
  );
  lines.push('| --- | --- | ---: | ---: | ---: | --- |');
  const notes: string[] = [];
  for (const [name, section] of Object.entries(results.sections)) {
    if ('error' in section) {
      lines.push(row([name, `**not measured**: ${section.error}`, '', '', '', '']));
      continue;
    }
    for (const fig of section.figures) {
      lines.push(figureRow(fig));
      if (fig.note) notes.push(`${fig.section}, ${fig.subject}: ${fig.note}`);
    }
    for (const skip of section.skips) {
      lines.push(
        row([skip.section, `${skip.subject}: **skipped**: ${skip.reason}`, '', '', '', '']),
      );
    }
  }
  if (notes.length > 0) {
    lines.push('');
    for (const note of notes) lines.push(`- ${note}`);
  }
  return `${lines.join('\n')}\n`;
}
