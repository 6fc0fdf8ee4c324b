/**
 * Figures nobody recorded are unknown, not 0 ("used nothing"): a sum over processes is shown only when
 * at least one of them has the figure (then it is a lower bound if some lack it). One rule for the JSON,
 * CSV and Nextflow formats (the table prints the same cases as "-", src/report/table.ts).
 */
import type { UnknownCounts } from "../steps/types.ts";

/** A step or the run's totals: its figures' unknown counts over `processes` processes. */
interface Counted {
  unknown?: UnknownCounts;
  peakRssKb: number;
}

/** `v`, or null when every one of the `processes` processes (at least one) lacks `field`. */
export const known = (
  c: Pick<Counted, "unknown">,
  processes: number,
  field: keyof UnknownCounts,
  v: number,
): number | null => (processes > 0 && (c.unknown?.[field] ?? 0) >= processes ? null : v);

/**
 * Is the peak unknown? No process has its peak recorded and no sample saw any memory (a sample alone
 * is a lower bound worth showing).
 */
export const peakUnknown = (c: Counted, processes: number): boolean =>
  c.peakRssKb === 0 && known(c, processes, "peakRss", 0) === null;
