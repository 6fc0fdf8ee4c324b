#!/usr/bin/env bun
// Entry point of the single binary: CLI, daemon (hidden `__daemon` command) and installer.
// Compiled as ESM bytecode with code splitting: each command's modules load only when it runs.
import { main } from "./cli/index.ts";
import { commandWord } from "./cli/_run.ts";
import { captureSelf } from "./spawn/self.ts";
import { mark } from "./core/timing.ts";
import { leanJit } from "./run/jit.ts";

mark("main");
const command = commandWord(process.argv.slice(2));

// `tracer run` starts with the JIT lean (src/run/jit.ts): most recordings end before optimised code pays
// back its compile
if (command === "run") leanJit();

// Before anything else: remember which file we are (fd of /proc/self/exe, path + inode) so that a later
// self-spawn can prove it starts the same executable. The daemon never spawns itself, nor does `run`
// (whose start-up is measured against tini's: issue 15).
// Output goes through core/output.ts (plain write(2), EPIPE ends quietly): process.stdout is never
// touched, which keeps Node's stream machinery out of every command's start-up.
if (command !== "__daemon" && command !== "run") captureSelf();

main(process.argv.slice(2));
