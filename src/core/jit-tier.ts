/**
 * Keep a batch pass's hot functions out of JavaScriptCore's FTL tier (its slowest-compiling one, run on
 * the JIT worker threads): they still reach the DFG tier. A report of a 100,000-process run is over in
 * about a second, but at the normal policy JSC compiled ~90 of its functions with FTL, 0.50 s of CPU
 * (DFG 0.19 s) beside ~0.9 s of the main thread's own work: on a 2-core host shared with a pipeline,
 * that CPU is the report's wall time. `BUN_JSC_useFTLJIT=false` (an environment variable: a compiled
 * binary cannot set it for itself) took the table report's CPU 1.77 → 1.16 s, wall 1.22 → 0.99 s
 * (medians of 5, alternated, 2026-11-30); `Bun.unsafe.setJITPolicy` scales the DFG's thresholds too
 * and did not help (2–16: CPU the same). A function marked here that is inlined into an FTL-compiled
 * caller is compiled with it: mark the callers too. The marks cost nothing to code that is not hot.
 */
import { noFTL } from "bun:jsc";

/** Never compile `fns` with FTL (call before they get hot: a function's mark holds for all its closures). */
// biome-ignore lint/suspicious/noExplicitAny: any function
export function dfgOnly(...fns: ((...args: any[]) => unknown)[]): void {
  for (const f of fns) noFTL(f);
}

/**
 * dfgOnly for every function a module exports (`import * as m`), and for every method, getter and
 * setter of the classes among them (static ones too): for a recording, whose hot paths are short
 * bursts of event handling spread over dozens of modules (src/observe/tiers.ts; functions a module keeps
 * to itself, per-instance arrows and closures are marked where they are made). Measured (2026-12-01,
 * `tracer run -- fan N`, alternated): FTL compiled 56 of the recording's functions in a 30,000-process
 * run (`BUN_JSC_reportFTLCompileTimes`), none with the marks; peak RSS at 100,000 processes 67.5 →
 * 62.5 MiB (FTL's compiler code paged in, its compiles' memory), tracer's CPU 415–424 → 323–356 ticks;
 * at 50,000 60.3–63.2 → 59.0–59.4 MiB.
 */
export function dfgOnlyModules(...modules: object[]): void {
  for (const m of modules)
    for (const v of Object.values(m)) {
      if (typeof v !== "function") continue;
      noFTL(v);
      for (const owner of [v, v.prototype])
        if (owner)
          for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(owner)))
            if (k !== "constructor" && k !== "prototype")
              for (const f of [d.value, d.get, d.set]) if (typeof f === "function") noFTL(f);
    }
}
