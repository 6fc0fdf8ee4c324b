/**
 * JavaScriptCore's tier-up policy for `tracer run` (Bun.unsafe.setJITPolicy scales the thresholds at
 * which a function is compiled by the optimising JITs). A recording is mostly short bursts of event
 * handling: at the normal policy the JIT worker threads spent a quarter to a third of tracer's CPU
 * compiling that code, and most runs end before the optimised code pays the compile back.
 *
 * Measured on this 2-core host (quiet), tracer's own CPU, alternated runs (DEVELOPERS-NOTES.md):
 * - 200-step pipeline (bench/overhead.ts), medians of 5: 190 ms at 1, 140 at 16, 130 at 64 (JIT
 *   threads 60 → 0 ms);
 * - ~100 execs/s, 3 runs each: 3.3–3.8 → 2.5–3.0 % of a core (JIT threads 1.0–1.3 → 0 %);
 * - 20,000 × /bin/true, medians of 3: 2.80 → 2.93 s (the JIT threads' 590 → 300 ms went to a slower
 *   main thread). Going back to the normal policy after 5,000 processes did not win that back: the
 *   compiles came all the same (JIT threads 61–67 ticks against 56–62 at 1 throughout).
 * Reports keep the normal policy: their long loops over every process are what the optimising tiers
 * are for.
 */

/** the scale `tracer run` runs with */
export const RUN_POLICY = 64;

/** Call first thing in `tracer run`: src/main.ts does, before the command table imports run's modules. */
export function leanJit(): void {
  Bun.unsafe.setJITPolicy(RUN_POLICY);
}
