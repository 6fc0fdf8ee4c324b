#!/usr/bin/env bun
// Entry point of the single binary: CLI, daemon (hidden `__daemon` command) and installer.
import { captureSelf } from "./spawn/self.ts";

// Before anything else: remember which file we are (fd of /proc/self/exe, path + inode) so that a
// later self-spawn can prove it starts the same executable.
// The daemon never spawns itself, so it keeps no such descriptor.
if (process.argv[2] !== "__daemon") captureSelf();

const { main } = await import("./cli/index.ts");
await main(process.argv.slice(2));
