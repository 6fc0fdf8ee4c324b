/**
 * Keep a long pass's garbage young. Bun's collector lets short-lived garbage pile up far beyond the live
 * heap during a tight loop, and that memory is not given back. An eden (young-generation) collection
 * every few thousand items costs about a millisecond and keeps the peak near the live size. Measured on
 * a 100,000-process run: `tracer report` (table) 351 → 209 MB peak RSS, no slower.
 */
import { edenGC } from "bun:jsc";

const EVERY = 2000;

/** A counter to call once per item of a long pass: every EVERY calls it runs an eden collection. */
export function youngCollector(every = EVERY): () => void {
  let n = 0;
  return () => {
    if (++n % every === 0) edenGC();
  };
}
