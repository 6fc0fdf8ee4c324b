#!/usr/bin/env bun
/**
 * Scale (issue 15): what tracer costs as runs grow, beside references measured in the same run.
 *  1. Recording: `tracer run -- fan N` (N sequential fork+exec of /bin/true, tests/fixtures/fan.c) for each
 *     size — tracer's whole CPU per process (wait4's rusage less fan's own) and peak RSS (read from
 *     /proc/<tracer pid> while it runs), the wall beside the bare `fan N`, and database bytes per
 *     process.
 *  2. Reports: every format of a synthetic run of N processes (tests/helpers/bigrun.ts, written through
 *     the store API) — wall, CPU and peak RSS of `tracer report`, per 1,000 processes, and the growth
 *     from the smallest size (linear: the per-1,000 figure stays flat).
 *  3. Start-up: `tracer run --quiet -- true` beside bare `true`, `tini -s -- true` and an empty program
 *     compiled by the same Bun (the floor of any Bun binary): medians of R rounds, the rows alternated.
 *  4. CPU per exec: `tracer run -- fan 2000`'s whole CPU per process (wait4's rusage less fan's own)
 *     beside forkstat's (Debian, its /proc/PID/stat before and after) for the same 2,000
 *     fork+exec+exit (alternated, median of 5).
 *  5. Overhead: bench/overhead.ts (the 200-step pipeline's wall and tracer's CPU; ~100 execs/s).
 *  6. Daemon: bench/daemon.ts (host-wide 1,000 unrelated execs/s beside forkstat).
 * Usage: bun bench/scale.ts [sizes=10000,50000,100000] [startup runs=30]   (TRACER_BIN=path: another build;
 * reports: REPORT_ROUNDS=R runs each, the median shown; REF_BIN=path a reference build run alternately)
 * Targets (issue 15): table report ≤ 1 s and ≤ 200 MB at 100k and linear; `tracer run` peak RSS ≤ 64 MB;
 * `tracer run -- true` ≤ 20 ms.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cProgram, writeBigRun } from "../tests/helpers/bigrun.ts";
import { timesMs, withTimes } from "./_cmd-cpu.ts";

const sizes = (process.argv[2] ?? "10000,50000,100000").split(",").map(Number);
const startupRuns = Number(process.argv[3] ?? 30);
const bin = process.env.TRACER_BIN ?? join(resolve(import.meta.dir, ".."), "dist", "tracer");
const dir = mkdtempSync(join(tmpdir(), "tracer-scale-"));
const FORMATS = ["table", "json", "csv", "nextflow", "html"] as const;
/** SECTIONS=recording,reports,startup,perexec,overhead,daemon (default: all) */
const sections = new Set(
  (process.env.SECTIONS ?? "recording,reports,startup,perexec,overhead,daemon").split(","),
);
const maxrss = cProgram("maxrss");
/** REPORT_ROUNDS: runs of each report (median shown; default 1); REF_BIN: a reference build run alternately with it */
const reportRounds = Math.max(1, Number(process.env.REPORT_ROUNDS ?? 1));
const refBin = process.env.REF_BIN;

const envFor = (state: string) => ({
  ...process.env,
  NO_COLOR: "1",
  TRACER_STATE_DIR: state,
  TRACER_RUNTIME_DIR: `${state}-run`,
});
/** the run with the median wall (CPU and RSS its own: one consistent run, not three medians mixed) */
const medianRun = (ms: Measured[]) => [...ms].sort((a, b) => a.wallMs - b.wallMs)[Math.floor(ms.length / 2)]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number) => bytes / 2 ** 20;
const f1 = (n: number) => n.toFixed(1);
const TICK = 100; // USER_HZ: /proc/PID/stat CPU fields are in clock ticks

interface Measured {
  wallMs: number;
  /** wait4's rusage: the process's CPU and its waited-for descendants' (tracerRun: tracer's alone) */
  cpuMs: number;
  /** peak RSS (see measure) */
  peakRssBytes: number;
  code: number;
}

/**
 * Run `cmd`. Its peak RSS comes from tests/fixtures/maxrss.c: Bun spawns by vfork, and a vforked
 * child's ru_maxrss starts at its parent's high-water mark (this process's, hundreds of MB once a
 * fixture is built), while a child the small wrapper forks starts at zero. With "own", peak RSS is
 * the process's own instead (not its children's), its VmHWM read from /proc every 20 ms while it lives;
 * "plain" runs it as it is (start-up: no wrapper in the measured time).
 */
async function measure(
  cmd: string[],
  env: Record<string, string | undefined>,
  how: "wrapped" | "own" | "plain" = "wrapped",
): Promise<Measured> {
  const rssFile = join(dir, "maxrss");
  const t0 = Bun.nanoseconds();
  const p = Bun.spawn(how === "wrapped" ? [maxrss, rssFile, ...cmd] : cmd, {
    env,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "inherit",
  });
  let hwmKb = -1;
  const read = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, "latin1"));
      if (m) hwmKb = Number(m[1]);
    } catch {}
  };
  const timer = how === "own" ? setInterval(read, 20) : undefined;
  const code = await p.exited;
  clearInterval(timer);
  const wallMs = (Bun.nanoseconds() - t0) / 1e6;
  const ru = p.resourceUsage()!;
  return {
    wallMs,
    cpuMs: Number(ru.cpuTime.total) / 1000,
    peakRssBytes:
      how === "own"
        ? hwmKb * 1024
        : how === "wrapped"
          ? Number(readFileSync(rssFile, "utf8")) * 1024
          : Number.NaN,
    code,
  };
}

/**
 * `tracer run --quiet -- CMD`, measured as its own process (peak RSS from /proc while it lives), with
 * `cpuMs` tracer's whole CPU, its end and exit included: wait4's rusage less CMD's own (bash's
 * `times`, ./_cmd-cpu.ts). /proc's ticks, read last before it exits, would leave out its end.
 */
async function tracerRun(cmd: string[], env: Record<string, string | undefined>): Promise<Measured> {
  const times = join(dir, "cmd-times");
  const m = await measure([bin, "run", "--quiet", "--", ...withTimes(cmd, times)], env, "own");
  return { ...m, cpuMs: m.cpuMs - timesMs(times) };
}

function dbBytes(state: string): number {
  let n = 0;
  for (const f of ["tracer.db", "tracer.db-wal"]) {
    const path = join(state, f);
    if (existsSync(path)) n += statSync(path).size;
  }
  return n;
}

try {
  const fan = cProgram("fan");
  console.log(
    `sizes ${sizes.join(", ")}; host load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );

  if (sections.has("recording")) await recording(fan);
  if (sections.has("reports")) await reports();
  if (sections.has("startup")) await startup();
  if (sections.has("perexec")) await perExec(fan);
  if (sections.has("overhead"))
    runBench("5. overhead (bench/overhead.ts 15 10)", ["overhead.ts", "15", "10"]);
  if (sections.has("daemon"))
    runBench("6. daemon (bench/daemon.ts --execs 20000)", ["daemon.ts", "--execs", "20000"]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

async function recording(fan: string) {
  console.log("\n1. recording `tracer run -- fan N` (N × fork+exec /bin/true) beside bare `fan N`");
  console.log(
    `${"N".padStart(7)} ${"bare s".padStart(7)} ${"traced s".padStart(9)} ${"wall×".padStart(6)} ${"tracer CPU µs/proc".padStart(19)} ${"tracer peak RSS MiB".padStart(19)} ${"DB B/proc".padStart(10)}`,
  );
  for (const n of sizes) {
    const state = join(dir, `rec-${n}`);
    const bare = await measure([fan, String(n)], process.env);
    const traced = await tracerRun([fan, String(n)], envFor(state));
    if (traced.code !== 0) throw new Error(`tracer run -- fan ${n} exited ${traced.code}`);
    console.log(
      `${String(n).padStart(7)} ${(bare.wallMs / 1000).toFixed(2).padStart(7)} ${(traced.wallMs / 1000).toFixed(2).padStart(9)} ${(traced.wallMs / bare.wallMs).toFixed(2).padStart(6)} ${f1((traced.cpuMs * 1000) / n).padStart(19)} ${f1(mb(traced.peakRssBytes)).padStart(19)} ${f1(dbBytes(state) / n).padStart(10)}`,
    );
  }
}

async function reports() {
  console.log(
    `\n2. reports of a synthetic run of N processes (wall ms / CPU ms / peak RSS MiB; targets at 100k: ≤ 1 s, ≤ 200 MB)${reportRounds > 1 ? `; median of ${reportRounds} runs` : ""}${refBin ? `; ref: ${refBin}, run alternately` : ""}`,
  );
  const line = (m: Measured, n: number) =>
    `wall ${f1(m.wallMs).padStart(7)}  CPU ${f1(m.cpuMs).padStart(7)}  RSS ${f1(mb(m.peakRssBytes)).padStart(6)}  CPU/1k ${f1(m.cpuMs / (n / 1000)).padStart(5)}`;
  const perK: Record<string, number[]> = {};
  for (const n of sizes) {
    const big = writeBigRun("pipeline", n, mkdtempSync(join(dir, "rep-")));
    for (const format of FORMATS) {
      // [this build, the reference] × rounds, alternated so both see the same host load
      const runs: Measured[] = [];
      const refRuns: Measured[] = [];
      for (let r = 0; r < reportRounds; r++)
        for (const b of refBin ? [refBin, bin] : [bin]) {
          const m = await measure([b, "report", big.name, "--format", format], envFor(big.stateDir));
          if (m.code !== 0) throw new Error(`${b} report --format ${format} of ${n} exited ${m.code}`);
          (b === bin ? runs : refRuns).push(m);
        }
      const m = medianRun(runs);
      perK[format] = [...(perK[format] ?? []), m.cpuMs];
      // the host is shared: the 1-minute load beside each figure
      const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
      console.log(`${String(n).padStart(7)} ${format.padEnd(9)} ${line(m, n)}  load ${load}`);
      if (refBin) {
        const ref = medianRun(refRuns);
        console.log(
          `${"".padStart(7)} ${"  ref".padEnd(9)} ${line(ref, n)}  (this/ref: wall ${(m.wallMs / ref.wallMs).toFixed(2)}, CPU ${(m.cpuMs / ref.cpuMs).toFixed(2)}, RSS ${(m.peakRssBytes / ref.peakRssBytes).toFixed(2)})`,
        );
      }
    }
  }
  // linear: the marginal CPU per 1,000 more processes is the same between every pair of sizes
  console.log("linearity: marginal CPU ms per 1,000 more processes, between consecutive sizes");
  for (const format of FORMATS) {
    const xs = perK[format]!;
    const marginal = xs.slice(1).map((x, i) => (x - xs[i]!) / ((sizes[i + 1]! - sizes[i]!) / 1000));
    console.log(`  ${format.padEnd(9)} ${marginal.map((m) => f1(m).padStart(6)).join(" ")}`);
  }
}

/**
 * The floor under any Bun program: an empty program compiled as tracer is (`bun build --compile`, the
 * same Bun), so the start-up table can say how much of `tracer run` is tracer's own.
 */
function emptyBunProgram(): string {
  const src = join(dir, "empty.ts");
  const out = join(dir, "empty-bun");
  writeFileSync(src, "export {};\n");
  const r = Bun.spawnSync(
    [process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm", src, "--outfile", out],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  if (r.exitCode !== 0)
    throw new Error(`bun build --compile of an empty program failed: ${r.stderr.toString()}`);
  return out;
}

async function startup() {
  console.log(`\n3. start-up: median wall of ${startupRuns} runs (rows alternated each round)`);
  const state = join(dir, "startup");
  const rows: [string, string[], Record<string, string | undefined>][] = [
    ["bare true", ["true"], process.env],
    ["tini -s -- true", ["tini", "-s", "--", "true"], process.env],
    ["empty compiled Bun program", [emptyBunProgram()], process.env],
    ["tracer run --quiet -- true", [bin, "run", "--quiet", "--", "true"], envFor(state)],
  ];
  const walls: number[][] = rows.map(() => []);
  // alternated, so a change in the host's load during the section weighs on every row alike
  for (let i = 0; i < startupRuns + 2; i++)
    for (const [k, [, cmd, env]] of rows.entries()) {
      const m = await measure(cmd, env, "plain");
      if (i >= 2) walls[k]!.push(m.wallMs);
    }
  const med = walls.map(median);
  for (const [i, [name]] of rows.entries())
    console.log(
      `  ${name.padEnd(28)} ${f1(med[i]!).padStart(7)} ms  ×bare ${(med[i]! / med[0]!).toFixed(1).padStart(6)}  ×tini ${(med[i]! / med[1]!).toFixed(1).padStart(6)}`,
    );
  const own = med[3]! - med[2]!;
  console.log(`  tracer's own part (tracer run − the empty Bun program): ${f1(own)} ms`);
  console.log(`  target ≤ 20 ms: ${med[3]! <= 20 ? "met" : "NOT met"}`);
}

/** utime + stime of a live process, ticks (/proc/PID/stat fields 14 and 15) */
function ticksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/**
 * CPU per exec: tracer's whole CPU (`tracer run -- fan N`, tracerRun) beside forkstat's
 * watching a bare `fan N` (its ticks before and after; forkstat -e fork,exec,exit to /dev/null).
 */
async function perExec(fan: string) {
  const n = 2000;
  const rounds = 5;
  console.log(`\n4. CPU per exec: ${n} × fork+exec /bin/true (median of ${rounds}, alternated)`);
  if (!Bun.which("forkstat")) {
    console.log("  forkstat not installed: no reference");
    return;
  }
  const tracerUs: number[] = [];
  const forkstatUs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const traced = await tracerRun([fan, String(n)], envFor(join(dir, "perexec")));
    if (traced.code !== 0) throw new Error(`tracer run -- fan ${n} exited ${traced.code}`);
    tracerUs.push((traced.cpuMs * 1000) / n);
    const fs = Bun.spawn(["forkstat", "-e", "fork,exec,exit"], { stdio: ["ignore", "ignore", "ignore"] });
    await Bun.sleep(500); // let it subscribe
    const before = ticksOf(fs.pid);
    await measure([fan, String(n)], process.env, "plain");
    await Bun.sleep(300); // let it read the last events
    forkstatUs.push((((ticksOf(fs.pid) - before) * 1000) / TICK / n) * 1000);
    fs.kill();
    await fs.exited;
  }
  const t = median(tracerUs);
  const f = median(forkstatUs);
  console.log(
    `  tracer ${f1(t)} µs/exec (start-up included), forkstat ${f1(f)} µs/exec: ×forkstat ${(t / f).toFixed(2)} (target ≤ 1)`,
  );
}

/** Another benchmark of bench/, run as it is, its output under a heading. */
function runBench(title: string, args: string[]) {
  console.log(`\n${title}`);
  const r = Bun.spawnSync([process.execPath, join(import.meta.dir, args[0]!), ...args.slice(1)], {
    env: { ...process.env, TRACER_BIN: bin },
    stdout: "pipe",
    // its live progress (stderr) repeats what its summary prints: shown only when it fails
    stderr: "pipe",
  });
  for (const line of r.stdout.toString().trimEnd().split("\n")) console.log(`  ${line}`);
  if (r.exitCode !== 0) console.log(`  (exited ${r.exitCode})\n${r.stderr.toString()}`);
}
