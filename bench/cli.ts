#!/usr/bin/env bun
/**
 * CLI latency: `tracer --version`, `tracer info` (against a live daemon), and `runs`, `report` and `top`
 * (one snapshot, stdout not a terminal) over a store holding one small recorded run, beside a compiled
 * empty Bun program, the floor any compiled Bun binary pays. Prints p50/p95 and the ratio to the floor.
 * Usage: bun bench/cli.ts [runs=60]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const runs = Number(process.argv[2] ?? 60);
const root = resolve(import.meta.dir, "..");
const bin = join(root, "dist", "tracer");
const dir = mkdtempSync(join(tmpdir(), "tracer-bench-"));
const env = {
  ...process.env,
  NO_COLOR: "1",
  TRACER_STATE_DIR: join(dir, "state"),
  TRACER_RUNTIME_DIR: join(dir, "run"),
};

function time(cmd: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const t0 = Bun.nanoseconds();
    const r = Bun.spawnSync(cmd, { env, stdout: "ignore", stderr: "ignore" });
    const ms = (Bun.nanoseconds() - t0) / 1e6;
    if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}`);
    if (i >= 3) out.push(ms); // warm-up
  }
  return out.sort((a, b) => a - b);
}
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

try {
  writeFileSync(join(dir, "empty.ts"), "");
  const empty = join(dir, "empty");
  const b = Bun.spawnSync([
    process.execPath,
    "build",
    "--compile",
    join(dir, "empty.ts"),
    "--outfile",
    empty,
  ]);
  if (b.exitCode !== 0) throw new Error(`cannot compile the empty program: ${b.stderr}`);
  if (Bun.spawnSync([bin, "init"], { env }).exitCode !== 0) throw new Error("tracer init failed");
  const small = Bun.spawnSync(
    [bin, "run", "--name", "bench", "--", "sh", "-c", "sort /dev/null | gzip -c >/dev/null"],
    {
      env,
    },
  );
  if (small.exitCode !== 0) throw new Error("tracer run failed");

  const floor = time([empty]);
  const rows: [string, number[]][] = [
    ["empty compiled bun (floor)", floor],
    ["tracer --version", time([bin, "--version"])],
    ["tracer info", time([bin, "info"])],
    ["tracer runs", time([bin, "runs"])],
    ["tracer report", time([bin, "report", "bench"])],
    ["tracer top (snapshot)", time([bin, "top"])],
  ];
  console.log(`runs per command: ${runs}`);
  console.log(
    `${"command".padEnd(28)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${"p50/floor".padStart(10)}`,
  );
  for (const [name, xs] of rows)
    console.log(
      `${name.padEnd(28)} ${pct(xs, 50).toFixed(1).padStart(8)} ${pct(xs, 95).toFixed(1).padStart(8)} ${(pct(xs, 50) / pct(floor, 50)).toFixed(2).padStart(9)}x`,
    );
  const info = pct(rows[2]![1], 50);
  console.log(`target: tracer info p50 <= 30 ms → ${info <= 30 ? "met" : "NOT met"} (${info.toFixed(1)} ms)`);
} finally {
  Bun.spawnSync([bin, "terminate"], { env });
  rmSync(dir, { recursive: true, force: true });
}
