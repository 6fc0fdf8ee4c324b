#!/usr/bin/env bun
/**
 * Overhead of `tracer run` (not a test: timings belong here).
 *  1. A 200-step shell pipeline, bare vs under `tracer run`, alternating; prints the median wall ratio
 *     (target ≤ 1.03×), and tracer's own CPU as % of the pipeline's (wait4 rusage; target ≤ 3 %).
 *  2. The recorder's own cost while CMD execs ~100 processes/s for 10 s: tracer's CPU as % of one core
 *     (target ≤ 2 %, issue 15) and its peak RSS (target ≤ 80 MB), read from /proc/<tracer pid> while it runs.
 * Usage: bun bench/overhead.ts [reps=5] [seconds=10]   (TRACER_BIN=path: another build)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const reps = Number(process.argv[2] ?? 5);
const seconds = Number(process.argv[3] ?? 10);
const bin = process.env.TRACER_BIN ?? join(resolve(import.meta.dir, ".."), "dist", "tracer");
const dir = mkdtempSync(join(tmpdir(), "tracer-bench-"));
const env = {
  ...process.env,
  NO_COLOR: "1",
  TRACER_STATE_DIR: join(dir, "state"),
  TRACER_RUNTIME_DIR: join(dir, "run"),
};

// 200 steps of small real work: generate, sort, checksum, compress
const pipeline = join(dir, "pipeline.sh");
writeFileSync(
  pipeline,
  `#!/bin/sh
set -e
for i in $(seq 1 200); do
  seq 1 20000 | sort -rn | md5sum > ${dir}/step.out
done
`,
);

/** CPU (user + system, ms) of the last command wall() ran, its descendants included (wait4's rusage) */
let lastCpuMs = 0;
function wall(cmd: string[]): number {
  const t0 = Bun.nanoseconds();
  const r = Bun.spawnSync(cmd, { env, stdout: "ignore", stderr: "ignore" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}`);
  lastCpuMs = Number(r.resourceUsage?.cpuTime.total ?? 0) / 1000;
  return (Bun.nanoseconds() - t0) / 1e6;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function stat(pid: number): { ticks: number; hwmKb: number } {
  const s = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
  return { ticks: Number(f[11]) + Number(f[12]), hwmKb: Number(hwm?.[1] ?? 0) };
}

try {
  const bare: number[] = [];
  const bareCpu: number[] = [];
  const traced: number[] = [];
  wall(["sh", pipeline]); // warm the page cache
  for (let i = 0; i < reps; i++) {
    bare.push(wall(["sh", pipeline]));
    bareCpu.push(lastCpuMs);
    traced.push(wall([bin, "run", "--quiet", "--", "sh", pipeline]));
  }
  const b = median(bare);
  const t = median(traced);
  const ratios = bare.map((x, i) => traced[i]! / x);
  console.log(`200-step pipeline: bare ${b.toFixed(0)} ms, traced ${t.toFixed(0)} ms (median of ${reps})`);
  const best = Math.min(...traced) / Math.min(...bare);
  console.log(
    `  wall ratio ${(t / b).toFixed(3)}x median, ${best.toFixed(3)}x best-of-${reps} (target <= 1.03x; pairwise ${ratios.map((r) => r.toFixed(2)).join(" ")})`,
  );
  // tracer's own CPU over the whole run (start-up included), read by CMD's last step: robust to host noise
  const cpuOut = join(dir, "tracer.stat");
  const cpuRun = [
    bin,
    "run",
    "--quiet",
    "--",
    "sh",
    "-c",
    `sh ${pipeline}; cat /proc/$PPID/stat > ${cpuOut}`,
  ];
  const own: number[] = [];
  for (let i = 0; i < reps; i++) {
    wall(cpuRun);
    const f = readFileSync(cpuOut, "latin1");
    const x = f.slice(f.lastIndexOf(")") + 2).split(" ");
    own.push((Number(x[11]) + Number(x[12])) * 10);
  }
  console.log(
    `  tracer's own CPU for the whole run: ${median(own)} ms = ${((100 * median(own)) / median(bareCpu)).toFixed(1)} % of the pipeline's CPU (${median(bareCpu).toFixed(0)} ms; target <= 3 %), ${((100 * median(own)) / b).toFixed(1)} % of the bare wall time`,
  );

  // ~100 execs/s: fork+exec /bin/true on a 10 ms schedule
  const py = [
    "import os, time",
    "t = time.monotonic()",
    `for i in range(${seconds * 100}):`,
    "    os.waitpid(os.posix_spawn('/bin/true', ['true'], {}), 0)",
    "    time.sleep(max(0, t + (i + 1) / 100 - time.monotonic()))",
  ].join("\n");
  const load = `exec python3 -c "${py}"`;
  const p = Bun.spawn([bin, "run", "--quiet", "--name", "bench-load", "--", "sh", "-c", load], {
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  await Bun.sleep(1000);
  const a = stat(p.pid);
  const t0 = performance.now();
  await Bun.sleep((seconds - 2) * 1000);
  const z = stat(p.pid);
  const ms = performance.now() - t0;
  await p.exited;
  const procs = JSON.parse(Bun.spawnSync([bin, "report", "bench-load", "--json"], { env }).stdout.toString())
    .processes.length as number;
  const cpuPct = (((z.ticks - a.ticks) * 10) / ms) * 100;
  console.log(
    `~100 execs/s for ${seconds} s: ${procs} processes recorded (${(procs / seconds).toFixed(0)}/s)`,
  );
  console.log(
    `  tracer CPU ${cpuPct.toFixed(2)} % of one core (target <= 2 %, issue 15), peak RSS ${(z.hwmKb / 1024).toFixed(1)} MiB (target <= 80 MB)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
