/**
 * Temp dirs that live for the whole test run (fixtures shared by several test files), removed by the
 * global afterAll in tests/setup.ts (bun test runs no process "exit" handler).
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dirs: string[] = [];

export function sharedDir(prefix = "tracer-big-"): string {
  const d = mkdtempSync(join(realpathSync(tmpdir()), prefix));
  dirs.push(d);
  return d;
}

export function removeSharedDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

// a benchmark or script using the fixtures (no test runner) cleans up as it exits
process.on("exit", removeSharedDirs);
