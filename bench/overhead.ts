#!/usr/bin/env bun
/**
 * Overhead of `tracer run` (not a test: timings belong here).
 *  1. A 200-step shell pipeline, bare vs under `tracer run`, alternating; prints the median wall ratio
 *     (target ≤ 1.03×) beside the same ratio of two bare runs (the host's noise floor), and where the
 *     difference goes: tracer's fixed cost (`tracer run -- true` vs `true`), the pipeline's own CPU
 *     traced vs bare (bash's `times`: the in-kernel costs on its side), and tracer's whole CPU (wait4
 *     rusage less the pipeline's), also as % of the pipeline's (target ≤ 3 %); then where tracer's
 *     wall lies on the critical path (its TRACER_TIMING marks: before CMD starts, and after it ends:
 *     the backlog of events since the last drain, the final write, SQLite's checkpoint on close) and
 *     its CPU split into a fixed part (`tracer run -- sleep 0.1`: every capture source opened, which
 *     `true` ends too soon for) and a part per process recorded, and by thread as the pipeline ended.
 *  2. The recorder's own cost while CMD execs ~100 processes/s for 10 s: tracer's CPU as % of one core
 *     (target ≤ 2 %, issue 15) and its peak RSS (target ≤ 80 MB), read from /proc/<tracer pid> while it runs.
 * Usage: bun bench/overhead.ts [reps=5] [seconds=10]   (TRACER_BIN=path: another build)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { timesMs, withTimes } from "./_cmd-cpu.ts";

const reps = Number(process.argv[2] ?? 5);
/** seconds of a CMD that outlives the sources' opening (tracer's fixed cost with all of them open) */
const IDLE_S = "0.1";
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
/**
 * Where tracer's own wall time lies on a traced run's critical path, from its TRACER_TIMING marks
 * (src/core/timing.ts: ms since its runtime's origin, and that origin as epoch ms) and the times this
 * process saw it start and end (epoch ms). ms each; undefined when a mark is missing.
 */
interface CriticalPath {
  /** exec → the runtime's origin (Bun's own start) */
  runtime: number;
  /** origin → CMD spawned (modules, store, capture sources, ledger) */
  toSpawn: number;
  /** CMD ended → CMD recorded: the events queued since the last drain, read and handled */
  backlog: number;
  /** sources stopped → flushed: the rows not yet written, and the run's end, in one transaction */
  finalWrite: number;
  /** flushed → db closed: SQLite's checkpoint of the WAL on close */
  close: number;
  /** CMD ended → the process's end as this process saw it */
  afterCmd: number;
}
const lastPaths: CriticalPath[] = [];
/** Run `cmd` to its end (it must exit 0): its wall ms, and when it started (epoch ms) and its stderr. */
function spawnTimed(
  cmd: string[],
  extraEnv: Record<string, string> = {},
  stderr: "ignore" | "pipe" = "ignore",
) {
  const startedAt = performance.timeOrigin + performance.now();
  const t0 = Bun.nanoseconds();
  const r = Bun.spawnSync(cmd, { env: { ...env, ...extraEnv }, stdout: "ignore", stderr });
  const ms = (Bun.nanoseconds() - t0) / 1e6;
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}`);
  lastCpuMs = Number(r.resourceUsage?.cpuTime.total ?? 0) / 1000;
  return { ms, startedAt, stderr: r.stderr?.toString() ?? "" };
}
const wall = (cmd: string[]): number => spawnTimed(cmd).ms;
/** wall() of a `tracer run` with TRACER_TIMING=1, its critical path pushed on lastPaths */
function timedWall(cmd: string[]): number {
  const { ms, startedAt: t0, stderr } = spawnTimed(cmd, { TRACER_TIMING: "1" }, "pipe");
  const marks = new Map<string, number>();
  let origin = Number.NaN;
  for (const line of stderr.split("\n")) {
    const m = /^tracer: timing \+([\d.]+) ms cpu [\d.]+ ms (.+)$/.exec(line);
    if (m) marks.set(m[2]!, Number(m[1]));
    const o = /^tracer: origin ([\d.]+)$/.exec(line);
    if (o) origin = Number(o[1]);
  }
  const at = (label: string) => marks.get(label) ?? Number.NaN;
  lastPaths.push({
    runtime: origin - t0,
    toSpawn: at("CMD spawned"),
    backlog: at("CMD recorded") - at("CMD ended"),
    finalWrite: at("flushed") - at("sources stopped"),
    close: at("db closed") - at("flushed"),
    afterCmd: t0 + ms - (origin + at("CMD ended")),
  });
  return ms;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmtMs = (x: number) => `${x.toFixed(1)} ms`;

function stat(pid: number): { ticks: number; hwmKb: number } {
  const s = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
  return { ticks: Number(f[11]) + Number(f[12]), hwmKb: Number(hwm?.[1] ?? 0) };
}
/** utime + stime (ms) in a /proc/PID/stat line */
function statCpuMs(line: string): number {
  const x = line.slice(line.lastIndexOf(")") + 2).split(" ");
  return (Number(x[11]) + Number(x[12])) * 10;
}

/** Which part of tracer a thread is: its main thread (by tid), its native helpers, else Bun's by name */
function threadGroup(comm: string, main: boolean): string {
  if (main) return "main thread";
  if (comm === "tracer") return "tracer's native threads";
  if (/^(HeapHelper|.*Collector.*)$/.test(comm)) return "JSC's collector";
  if (/^JIT/.test(comm)) return "JSC's JIT";
  return comm;
}
/** ms of runtime per thread group, from the "tid comm ns" lines the traced pipeline wrote at its end */
function threadGroups(text: string): Map<string, number> {
  const [pid, ...lines] = text.trim().split("\n");
  const out = new Map<string, number>();
  for (const line of lines) {
    const [tid, comm, ns] = line.split(" ");
    const g = threadGroup(comm!.replaceAll("_", " "), tid === pid);
    out.set(g, (out.get(g) ?? 0) + Number(ns) / 1e6);
  }
  return out;
}
/** the traced pipelines' thread groups, one map a round */
const threadRounds: Map<string, number>[] = [];

try {
  // Each round runs, alternated: the pipeline bare, a second bare run (the noise floor: the same
  // command twice), the pipeline under tracer, and `true` bare and traced (tracer's fixed cost: start-up
  // before CMD, the end after it). Bare and traced pipelines are wrapped alike (`sh -c 'sh pipeline;
  // cat /proc/TRACER/stat'` under bash's `times`, ./_cmd-cpu.ts): `times` gives the pipeline's own CPU,
  // traced or not, with its part of the in-kernel costs (the connector's and taskstats' sends, the eBPF
  // programs, the exec watcher's filter). The traced run's wait4 rusage less that is tracer's whole CPU,
  // its end and exit included; the cat reads tracer's CPU ticks as the pipeline ends, which leaves out
  // what tracer does after it.
  const cpuOut = join(dir, "tracer.stat");
  const timesOut = join(dir, "times");
  // (the cat's grandparent: tracer, or this process when bare)
  const tracer = "$(cut -d' ' -f4 /proc/$PPID/stat)";
  // and each of its threads' runtime so far (schedstat, ns): "tid comm ns" lines, the main thread's tid
  // the pid's
  const threadsOut = join(dir, "tracer.threads");
  const threads = `tp=${tracer}; echo "$tp" > ${threadsOut}; for t in /proc/$tp/task/*; do echo "\${t##*/} $(tr ' ' _ < $t/comm) $(cut -d' ' -f1 $t/schedstat)"; done >> ${threadsOut}`;
  const wrapped = withTimes(
    ["sh", "-c", `sh ${pipeline}; cat /proc/${tracer}/stat > ${cpuOut}; ${threads}`],
    timesOut,
  );
  const rounds = {
    bare: [] as number[],
    bare2: [] as number[],
    traced: [] as number[],
    bareCpu: [] as number[],
    bare2Cpu: [] as number[],
    pipelineCpu: [] as number[],
    own: [] as number[],
    ownAtEnd: [] as number[],
    trueBare: [] as number[],
    trueTraced: [] as number[],
    trueOwn: [] as number[],
    idleOwn: [] as number[],
  };
  wall(wrapped); // warm the page cache
  wall([bin, "run", "--quiet", "--", "true"]);
  for (let i = 0; i < reps; i++) {
    rounds.bare.push(wall(wrapped));
    rounds.bareCpu.push(timesMs(timesOut));
    rounds.traced.push(timedWall([bin, "run", "--quiet", "--name", `bench-pipeline-${i}`, "--", ...wrapped]));
    const pipelineCpu = timesMs(timesOut);
    rounds.pipelineCpu.push(pipelineCpu);
    rounds.own.push(lastCpuMs - pipelineCpu);
    rounds.ownAtEnd.push(statCpuMs(readFileSync(cpuOut, "latin1")));
    threadRounds.push(threadGroups(readFileSync(threadsOut, "latin1")));
    rounds.bare2.push(wall(wrapped));
    rounds.bare2Cpu.push(timesMs(timesOut));
    rounds.trueBare.push(wall(["true"]));
    rounds.trueTraced.push(wall([bin, "run", "--quiet", "--", "true"]));
    // tracer's CPU for a run of one process: its start-up and end (rusage: tracer and `true`)
    rounds.trueOwn.push(lastCpuMs);
    // the same with every source open: `true` ends before the ledger and the kernel's argv reader have
    // attached (they open on threads while CMD runs, ~5-10 ms), so its run leaves their cost out; a
    // CMD of 100 ms outlives them (tracer's CPU less sleep's own, taken bare in the same round)
    wall(["sleep", IDLE_S]);
    const sleepCpu = lastCpuMs;
    wall([bin, "run", "--quiet", "--", "sleep", IDLE_S]);
    rounds.idleOwn.push(lastCpuMs - sleepCpu);
  }
  const { bare, bare2, traced } = rounds;
  const b = median(bare);
  const t = median(traced);
  const ratios = bare.map((x, i) => traced[i]! / x);
  const noise = bare.map((x, i) => bare2[i]! / x);
  console.log(`200-step pipeline: bare ${b.toFixed(0)} ms, traced ${t.toFixed(0)} ms (median of ${reps})`);
  const best = Math.min(...traced) / Math.min(...bare);
  console.log(
    `  wall ratio ${(t / b).toFixed(3)}x median, ${best.toFixed(3)}x best-of-${reps}, ${median(ratios).toFixed(3)}x median of pairs (target <= 1.03x; pairwise ${ratios.map((r) => r.toFixed(2)).join(" ")})`,
  );
  console.log(
    `  noise floor, bare vs bare: ${median(noise).toFixed(3)}x median of pairs (${Math.min(...noise).toFixed(2)}–${Math.max(...noise).toFixed(2)})`,
  );
  const fixed = median(rounds.trueTraced) - median(rounds.trueBare);
  const extraCpu = median(rounds.pipelineCpu) - median(rounds.bareCpu);
  const own = median(rounds.own);
  console.log(
    `  where it goes: traced − bare ${fmtMs(t - b)}; tracer's fixed cost ${fmtMs(fixed)} (\`tracer run -- true\` ${fmtMs(median(rounds.trueTraced))} vs \`true\` ${fmtMs(median(rounds.trueBare))}); the pipeline's own CPU ${extraCpu >= 0 ? "+" : ""}${fmtMs(extraCpu)} traced (${fmtMs(median(rounds.pipelineCpu))} vs ${fmtMs(median(rounds.bareCpu))} bare, and ${fmtMs(median(rounds.bare2Cpu))} in the second bare run); tracer's CPU ${fmtMs(own)}`,
  );
  // tracer's wall on the pipeline's critical path: before CMD starts and after it ends
  const path = (k: keyof CriticalPath) => median(lastPaths.map((p) => p[k]));
  console.log(
    `  on the critical path (medians): before CMD ${fmtMs(path("runtime") + path("toSpawn"))} (Bun's start ${fmtMs(path("runtime"))}, then to CMD's spawn ${fmtMs(path("toSpawn"))}); after CMD's end ${fmtMs(path("afterCmd"))} (the events queued since the last drain ${fmtMs(path("backlog"))}, the final write ${fmtMs(path("finalWrite"))}, SQLite's checkpoint on close ${fmtMs(path("close"))})`,
  );
  const recorded = JSON.parse(
    Bun.spawnSync([bin, "report", `bench-pipeline-${reps - 1}`, "--json"], { env }).stdout.toString(),
  ).processes.length as number;
  const startCpu = median(rounds.trueOwn);
  const idleCpu = median(rounds.idleOwn);
  console.log(
    `  tracer's CPU: ${fmtMs(startCpu)} for \`tracer run -- true\`, ${fmtMs(idleCpu)} for \`tracer run -- sleep ${IDLE_S}\` (every source opened: its fixed cost, ${((100 * idleCpu) / median(rounds.bareCpu)).toFixed(1)} % of the pipeline's CPU), and ${(((own - idleCpu) * 1000) / recorded).toFixed(0)} µs for each of the ${recorded} processes recorded beyond that`,
  );
  // tracer's whole CPU (wait4 rusage less the pipeline's own): start-up, recording, end and exit
  const atEnd = median(rounds.ownAtEnd);
  console.log(
    `  tracer's whole CPU: ${fmtMs(own)} = ${((100 * own) / median(rounds.bareCpu)).toFixed(1)} % of the pipeline's CPU (${median(rounds.bareCpu).toFixed(0)} ms bare; target <= 3 %), ${((100 * own) / b).toFixed(1)} % of the bare wall time; ${atEnd} ms of it by the pipeline's end (/proc ticks of 10 ms), the rest after (the events still queued, the final write, the store's close, the exit)`,
  );

  // the same by thread, as the pipeline ended (schedstat: ns, not ticks; start-up included): what runs
  // in JavaScript (the main thread: event handling, SQLite, system calls) apart from tracer's native
  // threads (exec watcher, the eBPF readers' openers, the orphan reaper) and Bun's runtime threads
  const groups = [...new Set(threadRounds.flatMap((m) => [...m.keys()]))];
  console.log(
    `  by thread at the pipeline's end (medians): ${groups
      .map((g) => {
        const ms = median(threadRounds.map((m) => m.get(g) ?? 0));
        return `${g} ${fmtMs(ms)}`;
      })
      .join(", ")}`,
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
