#!/usr/bin/env bun
// Entry point of the single binary: CLI, daemon (hidden `__daemon` command) and installer.
// Compiled as ESM bytecode with code splitting: each command's modules load only when it runs.
import { main } from "./cli/index.ts";
import { captureSelf } from "./spawn/self.ts";
import { mark } from "./core/timing.ts";

mark("main");

/**
 * JavaScriptCore's tier-up thresholds, scaled for `tracer run` (Bun.unsafe.setJITPolicy). A recording
 * is mostly short bursts of event handling; at the normal policy the JIT worker threads spend a quarter
 * to a third of tracer's CPU compiling that code, and most runs end before the optimised code pays the
 * compile back. Measured here, tracer's own CPU (medians of 5 alternated runs): the 200-step pipeline of
 * bench/overhead.ts 270 ms at 1, 190 at 16, 180 at 64 (JIT threads 80 → 10 → 0 ms); 20,000 × /bin/true
 * the same either way (JIT 710 → 360 ms, the main thread as much slower). Reports keep the normal
 * policy: their long loops over every process are what the optimising tiers are for.
 */
const RUN_JIT_POLICY = 64;
if (process.argv[2] === "run") Bun.unsafe.setJITPolicy(RUN_JIT_POLICY);

// Before anything else: remember which file we are (fd of /proc/self/exe, path + inode) so that a later
// self-spawn can prove it starts the same executable. The daemon never spawns itself, nor does `run`
// (whose start-up is measured against tini's: issue 15).
// Output goes through core/output.ts (plain write(2), EPIPE ends quietly): process.stdout is never
// touched, which keeps Node's stream machinery out of every command's start-up.
if (process.argv[2] !== "__daemon" && process.argv[2] !== "run") captureSelf();

main(process.argv.slice(2));
