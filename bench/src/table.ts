import { round } from './stats.js';
import { passes, type Row } from './types.js';

function cells(row: Row): string[] {
  const op = row.cmp === 'le' ? '<=' : '>=';
  const base =
    row.baseline !== undefined
      ? `${row.baselineLabel ?? 'baseline'} (${round(row.baseline)} ${row.unit})`
      : '';
  const ratio =
    row.baseline === undefined
      ? '-'
      : row.baseline > 0 && Number.isFinite(row.figure)
        ? `${round(row.figure / row.baseline)}x ${base}`
        : `- ${base}`;
  const verdict = row.skipped ? `SKIP (${row.skipped})` : passes(row) ? 'pass' : 'FAIL';
  const figure = Number.isFinite(row.figure) ? `${round(row.figure)} ${row.unit}` : '-';
  return [row.name, figure, `${op} ${row.target} ${row.unit}`, ratio, verdict, row.note ?? ''];
}

/** The results table: one line per row, columns padded. */
export function formatTable(rows: readonly Row[], info: { runs: number; pinned: boolean }): string {
  const head = ['benchmark', 'figure (median)', 'target', 'ratio to in-run baseline', 'result', 'note'];
  const body = rows.map(cells);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const pin = info.pinned ? 'server on core 0, load on core 1 (taskset)' : 'NOT pinned (no taskset)';
  return [
    `medians of ${info.runs} runs; ${pin}`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ].join('\n');
}
