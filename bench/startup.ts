#!/usr/bin/env bun
/**
 * Start-up of `tracer run --quiet -- true` (issue 15: ≤ 20 ms), this build beside a reference build,
 * alternated round by round so both see the same host load (a shared host's load moves by the second).
 * Each binary records into a state dir of its own, fresh for this run. Prints, per binary, the median
 * wall (p25, p75), the median CPU (user + system, every thread) and peak RSS, with the load average
 * before and after; MARKS=1 also prints the median of each TRACER_TIMING mark (ms since the runtime
 * started: where the time goes; with SEGMENTS=1, ms since the previous mark). RT=1 runs each under
 * `chrt -f 1`, which keeps most of the host's other work out (root).
 * Usage: bun bench/startup.ts [rounds=100]   (TRACER_BIN=path: this build, default dist/tracer;
 * REF_BIN=path: the reference, e.g. a copy of main's build)
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const rounds = Number(process.argv[2] ?? 100);
const WARMUP = 3;
const bins = [
  process.env.TRACER_BIN ?? join(resolve(import.meta.dir, ".."), "dist", "tracer"),
  ...(process.env.REF_BIN ? [process.env.REF_BIN] : []),
];
const marks = process.env.MARKS === "1";
/** SEGMENTS=1 (with MARKS=1): each mark's time since the previous one, per run, then the median — far
 * steadier than the marks' own medians on a loaded host, so a change shows in the step it is in */
const segments = process.env.SEGMENTS === "1";
const rt = process.env.RT === "1";
const dir = mkdtempSync(join(tmpdir(), "tracer-startup-"));
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

interface Series {
  wall: number[];
  cpu: number[];
  rss: number[];
  marks: Map<string, number[]>;
}
const series: Series[] = bins.map(() => ({ wall: [], cpu: [], rss: [], marks: new Map() }));

const loadBefore = load();
for (let r = 0; r < rounds + WARMUP; r++)
  for (const [i, bin] of bins.entries()) {
    const state = join(dir, String(i));
    const t0 = Bun.nanoseconds();
    const p = Bun.spawn([...(rt ? ["chrt", "-f", "1"] : []), bin, "run", "--quiet", "--", "true"], {
      env: {
        ...process.env,
        NO_COLOR: "1",
        TRACER_STATE_DIR: state,
        TRACER_RUNTIME_DIR: `${state}-run`,
        ...(marks ? { TRACER_TIMING: "1" } : {}),
      },
      stdin: "ignore",
      stdout: "ignore",
      stderr: marks ? "pipe" : "inherit",
    });
    const err = marks ? await new Response(p.stderr as ReadableStream).text() : "";
    await p.exited;
    const wall = (Bun.nanoseconds() - t0) / 1e6;
    if (r < WARMUP) continue;
    const s = series[i]!;
    const ru = p.resourceUsage()!;
    s.wall.push(wall);
    s.cpu.push(Number(ru.cpuTime.total) / 1000);
    s.rss.push(ru.maxRSS / 2 ** 20);
    let previous = 0;
    for (const m of err.matchAll(/timing \+([\d.]+) ms cpu [\d.]+ ms (.*)/g)) {
      const label = m[2]!;
      if (!s.marks.has(label)) s.marks.set(label, []);
      s.marks.get(label)!.push(segments ? Number(m[1]) - previous : Number(m[1]));
      previous = Number(m[1]);
    }
  }
rmSync(dir, { recursive: true, force: true });

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;
const f = (x: number) => x.toFixed(2).padStart(7);
console.log(
  `${rounds} rounds alternated${rt ? " (chrt -f 1)" : ""}; load before ${loadBefore}, after ${load()}`,
);
for (const [i, bin] of bins.entries()) {
  const s = series[i]!;
  console.log(
    `${i ? "ref " : "this"} wall median ${f(quantile(s.wall, 0.5))} ms (p25 ${f(quantile(s.wall, 0.25))}, p75 ${f(quantile(s.wall, 0.75))})  CPU ${f(quantile(s.cpu, 0.5))} ms  peak RSS ${quantile(s.rss, 0.5).toFixed(1)} MB  ${bin}`,
  );
}
if (marks) {
  const labels = [...new Set(series.flatMap((s) => [...s.marks.keys()]))];
  console.log(
    `\nTRACER_TIMING marks, median ms ${segments ? "since the previous mark" : "since start"}${bins.length > 1 ? " (this | ref)" : ""}`,
  );
  for (const l of labels)
    console.log(
      `  ${l.padEnd(18)} ${series.map((s) => (s.marks.has(l) ? f(quantile(s.marks.get(l)!, 0.5)) : "      -")).join(" | ")}`,
    );
}
