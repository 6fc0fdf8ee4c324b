#!/usr/bin/env bun
/**
 * Record the profiles scripts/build.ts lays the binary's bytecode out by (BYTECODE_ORDER): builds
 * dist/tracer without them, runs each start the way users do with BUN_BYTECODE_ORDER_OUT set (Bun
 * writes the functions that start used, as hashes of their syntax, when the process exits), and
 * writes scripts/bytecode-order/<name>.order. Then build again. Run as root for `tracer run`'s whole
 * path (the connector, taskstats and the eBPF readers; without root it records the /proc fallback).
 * Usage: bun scripts/record-bytecode-order.ts
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { BYTECODE_ORDER, build } from "./build.ts";

const bin = await build({ bytecodeOrder: false });
const dir = mkdtempSync(join(tmpdir(), "tracer-order-"));
const env = {
  ...process.env,
  NO_COLOR: "1",
  TRACER_STATE_DIR: join(dir, "state"),
  TRACER_RUNTIME_DIR: join(dir, "run"),
};

/** Run tracer with `args`, recording its profile as `name` (one of BYTECODE_ORDER's). */
function record(name: string, args: string[]): void {
  const out = join(dir, name);
  mkdirSync(out);
  const r = Bun.spawnSync([bin, ...args], {
    env: { ...env, BUN_BYTECODE_ORDER_OUT: join(out, "%p.order") },
    stdout: "ignore",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`tracer ${args.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
  // the tracer process's own profile (the only Bun process a start runs; the largest, should any other)
  const files = readdirSync(out).map((f) => join(out, f));
  if (!files.length) throw new Error(`tracer ${args.join(" ")} wrote no profile`);
  files.sort((a, b) => statSync(b).size - statSync(a).size);
  const target = BYTECODE_ORDER.find((f) => basename(f) === `${name}.order`)!;
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(files[0]!, target);
  console.error(`recorded ${target} (${statSync(target).size} bytes)`);
}

try {
  // a recording whose sources have all opened (the sleep) before it sees processes start and end
  record("run", [
    "run",
    "--quiet",
    "--name",
    "order",
    "--",
    "sh",
    "-c",
    "sleep 0.3; for i in $(seq 50); do /bin/true; done",
  ]);
  record("report", ["report", "order"]);
  record("runs", ["runs"]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.error("now build again: bun scripts/build.ts");
