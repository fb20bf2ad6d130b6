/** One line of the results table: a figure (median over runs) against its target and in-run baseline. */
export interface Row {
  name: string;
  /** Median over runs (or the single figure when the row is itself a distribution). */
  figure: number;
  unit: string;
  target: number;
  /** `le`: figure must be <= target; `ge`: >= target. */
  cmp: 'le' | 'ge';
  /** The same measurement on the in-run baseline (median), when there is one. */
  baseline?: number;
  baselineLabel?: string;
  /** Per-run values the figure is the median of. */
  samples: number[];
  note?: string;
  /** Set when the row could not be measured (the figure is then NaN and the row fails). */
  skipped?: string;
}

export interface BenchContext {
  runs: number;
  quick: boolean;
  /** Core pinning for children: `['taskset', '-c', '0']`, or [] when taskset is missing. */
  serverPrefix: string[];
  repoRoot: string;
  /** `--baseline-only`: benchmarks with an in-run baseline measure only it (their own rows SKIP). */
  baselineOnly?: boolean;
  /** `--no-baseline`: skip in-run baselines where a benchmark allows it (quicker runs while tuning; no ratios). */
  noBaseline?: boolean;
  /** `--services N`: mesh size of the xDS benchmarks (default 1,000). */
  services?: number;
  /** `--clients M`: ADS clients of the xDS benchmarks (default 1,000). */
  clients?: number;
  /** `--soak MINUTES`: the xds benchmark then keeps pushing for this long and reports RSS and heap slopes. */
  soakMinutes?: number;
  log(msg: string): void;
}

export interface BenchResult {
  rows: Row[];
  /** Anything else worth keeping in the JSON (sizes, raw distributions). */
  details: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export function passes(row: Row): boolean {
  if (row.skipped || !Number.isFinite(row.figure)) return false;
  return row.cmp === 'le' ? row.figure <= row.target : row.figure >= row.target;
}
