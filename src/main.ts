#!/usr/bin/env bun
// Entry point of the single binary: CLI, daemon (hidden `__daemon` command) and installer.
// Compiled as ESM bytecode with code splitting: each command's modules load only when it runs.
import { captureSelf } from "./spawn/self.ts";

// The daemon never spawns itself and writes only to its log: it needs neither of these (and touching
// process.stdout would dup its descriptors).
if (process.argv[2] !== "__daemon") {
  // Before anything else: remember which file we are (fd of /proc/self/exe, path + inode) so that a
  // later self-spawn can prove it starts the same executable.
  captureSelf();
  // `tracer report | head`: when the reader goes away, stop quietly instead of dumping a stack.
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw e;
    });
}

import("./cli/index.ts").then((m) => m.main(process.argv.slice(2)));
