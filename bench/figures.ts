/** What a measurement hands back: figures (samples, summary, pairwise ratio) and skipped peers. */
import { pairRatios, summarize, type Summary } from './stats.js';

export type Unit = 'ms' | 's' | 'tx/s' | 'MiB' | 'jobs/s' | '% of a core';

export interface Ratio {
  /** What the figure is divided by, e.g. "bare oclif command". */
  against: string;
  samples: number[];
  summary: Summary;
}

export interface Figure {
  /** Section of the report, e.g. "1. CLI cold start". */
  section: string;
  /** What was measured, e.g. "`rp --help`". */
  subject: string;
  unit: Unit;
  samples: number[];
  summary: Summary;
  /** Pairwise ratios against other figures of the same section. */
  ratios: Ratio[];
  note?: string;
}

export interface Skip {
  section: string;
  subject: string;
  reason: string;
}

export interface SectionResult {
  figures: Figure[];
  skips: Skip[];
  /** Free-form facts for the JSON (settings, breakdowns). */
  details?: Record<string, unknown>;
}

export function figure(
  section: string,
  subject: string,
  unit: Unit,
  samples: number[],
  extra: { note?: string; ratios?: Array<{ against: string; of: number[]; to: number[] }> } = {},
): Figure {
  const ratios = (extra.ratios ?? []).map(({ against, of, to }) => {
    const values = pairRatios(of, to);
    return { against, samples: values, summary: summarize(values) };
  });
  const result: Figure = { section, subject, unit, samples, summary: summarize(samples), ratios };
  if (extra.note) result.note = extra.note;
  return result;
}
