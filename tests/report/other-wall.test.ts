/**
 * An `other` step holds every process of one executable no step holds, started whenever: its wall is
 * the time at least one of them ran (the union of their lifetimes), not its first start to its last end
 * (found by a newcomer: five 10 ms `date` calls showed 2.4 s). Oracle: bash's own clock
 * ($EPOCHREALTIME) around each call, which brackets the child's whole life.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROFILE_BUCKETS, busyOf, liveBusyOf } from "../../src/steps/_busy.ts";
import { type StepProcess, groupSteps } from "../../src/steps/index.ts";
import { loadRules } from "../../src/rules/index.ts";
import { topStep } from "../../src/top/model.ts";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";
import { stepProcess } from "../helpers/step-process.ts";

afterAll(cleanupTemp);

interface JsonStep {
  name: string;
  kind: string;
  processes: number;
  started_at: string;
  ended_at: string;
  duration_ms: number;
}

test("five `date` calls 0.4 s apart: the other step's wall is their own time, within bash's brackets", async () => {
  const dir = tempDir();
  const env = isolatedEnv();
  const log = join(dir, "brackets");
  // each call bracketed by the shell's clock; the sleeps are builtins' children of their own (`sleep`)
  const script = `for i in 1 2 3 4 5; do s=$EPOCHREALTIME; date >/dev/null; e=$EPOCHREALTIME; echo "$s $e" >> ${log}; sleep 0.4; done`;
  const run = Bun.spawnSync([BIN, "run", "--quiet", "--name", "dates", "--", "bash", "-c", script], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(run.exitCode).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "dates", "--format", "json"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(rep.exitCode).toBe(0);
  const steps = (JSON.parse(rep.stdout.toString()) as { steps: JsonStep[] }).steps;
  const date = steps.find((s) => s.name === "date");
  expect(date).toMatchObject({ kind: "other", processes: 5 });
  const brackets = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" ").map((v) => Number(v) * 1000));
  expect(brackets.length).toBe(5);
  const bracketed = brackets.reduce((sum, [s, e]) => sum + (e! - s!), 0);
  // its extent is still first start to last end: four sleeps of 0.4 s
  const extent = Date.parse(date!.ended_at) - Date.parse(date!.started_at);
  expect(extent).toBeGreaterThanOrEqual(1600);
  // the wall is within what the shell's clock bracketed (+1 ms: the stored times are ms)
  expect(date!.duration_ms).toBeGreaterThan(0);
  expect(date!.duration_ms).toBeLessThanOrEqual(bracketed + 1);
  expect(date!.duration_ms).toBeLessThan(extent / 4);

  // the HTML timeline: the date step's bars cover its wall, not its extent (bar area over a full bar's
  // height, in the extent line's ms per px)
  const html = join(dir, "r.html");
  expect(await Bun.spawn([BIN, "report", "dates", "--format", "html", "-o", html], { env }).exited).toBe(0);
  const text = readFileSync(html, "utf8");
  const index = steps.indexOf(date!) + 1;
  const group = new RegExp(`<g data-step="${index}">(.*?)</g>`).exec(text)![1]!;
  const num = (attr: string, tag: string) => Number(new RegExp(`${attr}="([\\d.]+)"`).exec(tag)![1]);
  // a full bar's height: the shell's (one process, busy all along: a plain bar)
  const full = num("height", /<rect class="bar"[^>]*data-step="\d+"[^>]*>/.exec(text)![0]);
  const rects = [...group.matchAll(/<rect [^>]*>/g)].map((m) => m[0]);
  const extentPx = num("width", rects.find((r) => r.includes('class="extent"'))!);
  const area = rects
    .filter((r) => r.includes('class="bar'))
    .reduce((sum, r) => sum + num("width", r) * num("height", r), 0);
  const drawnMs = (area / full / extentPx) * extent;
  // bars are at least 2 px high (a short step stays visible): a few ms more for calls of ~1 ms, never
  // the extent's 1.6 s
  expect(drawnMs).toBeGreaterThan(0.9 * date!.duration_ms - 0.5);
  expect(drawnMs).toBeLessThan(2 * date!.duration_ms + 5);

  // the trace: duration is the extent, realtime the union
  const nf = Bun.spawnSync([BIN, "report", "dates", "--format", "nextflow"], { env, stdout: "pipe" });
  const lines = nf.stdout.toString().trim().split("\n");
  const head = lines[0]!.split("\t");
  const row = lines.map((l) => l.split("\t")).find((r) => r[head.indexOf("name")] === "date")!;
  const ms = (v: string) => (v.endsWith("ms") ? Number(v.slice(0, -2)) : Number(v.slice(0, -1)) * 1000);
  expect(ms(row[head.indexOf("duration")]!)).toBeGreaterThanOrEqual(1600);
  expect(ms(row[head.indexOf("realtime")]!)).toBe(Math.round(date!.duration_ms));
}, 60_000);

test("a subshell that waits, then execs sleep: the other step counts it from its exec, not its fork", () => {
  // `( read -t 0.5; exec sleep 0.2 )` was the shell for 0.5 s: the sleep step held it (1.2 s for
  // 0.5 s of two overlapping sleeps and 0.2 s of the third; found by an attack)
  const dir = tempDir();
  const env = isolatedEnv();
  Bun.spawnSync(["mkfifo", join(dir, "f")]);
  const script = `exec 9<>${dir}/f; sleep 0.5 & sleep 0.3 & wait; read -t 0.7 -u 9; ( read -t 0.5 -u 9; exec sleep 0.2 )`;
  const r = Bun.spawnSync([BIN, "run", "--quiet", "--name", "sub", "--", "bash", "-c", script], { env });
  expect(r.exitCode).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "sub", "--format", "json"], { env, stdout: "pipe" });
  const sleep = (JSON.parse(rep.stdout.toString()) as { steps: JsonStep[] }).steps.find(
    (s) => s.name === "sleep",
  )!;
  expect(sleep.processes).toBe(3);
  // sleeps of 0.5 and 0.3 s together, then one of 0.2 s: 0.7 s and what exec and exit take
  expect(sleep.duration_ms).toBeGreaterThanOrEqual(700);
  expect(sleep.duration_ms).toBeLessThan(900);
}, 60_000);

test("busyOf: the union of lifetimes, unknown ones left out; its profile's mean is the union", () => {
  const nan = Number.NaN;
  const b = busyOf([0, 5, 20, nan, 30], [10, 12, 25, 40, nan]);
  expect(b.ms).toBe(17);
  expect(b.profile?.from).toBe(0);
  expect(b.profile?.to).toBe(25);
  expect(busyOf([], [])).toEqual({ ms: 0 });
  // nested and touching lifetimes merge
  expect(busyOf([0, 1, 10], [10, 2, 11]).ms).toBe(11);
  // 2,000 disjoint lifetimes: the union exact, and the profile (256 shares of the extent) adds up to it
  const start = Array.from({ length: 2000 }, (_, i) => i * 10 + (i % 7));
  const end = start.map((s, i) => s + 1 + (i % 3));
  const u = busyOf(start, end);
  expect(u.ms).toBe(end.reduce((sum, e, i) => sum + e - start[i]!, 0));
  const p = u.profile!;
  expect(p.fill.length).toBe(PROFILE_BUCKETS);
  const mean = p.fill.reduce((a, v) => a + v, 0) / p.fill.length;
  expect(mean * (p.to - p.from)).toBeCloseTo(u.ms, 1); // float32 shares
  for (const v of p.fill) expect(v >= 0 && v <= 1).toBe(true);
});

test("liveBusyOf: a running group's time so far is its ended union before the first live start, then every moment", () => {
  const nan = Number.NaN;
  // ended [0,10] and [20,30], one running since 25, one that ended at 40 after it started
  expect(liveBusyOf([0, 20, 25, 35], [10, 30, nan, 40])).toEqual({ msBefore: 15, liveFrom: 25 });
  expect(liveBusyOf([0], [10])).toBeUndefined();
});

test("a running other step in top counts only the time one of its processes ran", () => {
  const proc = (id: number, startedAt: number, endedAt: number | null): StepProcess =>
    stepProcess(id, {
      argv: id === 1 ? ["bash", "-c", "loop"] : ["sleep", "1"],
      startedAt,
      endedAt,
      exitCode: endedAt === null ? null : 0,
    });
  const T = 1_000_000;
  // sleeps of 0.5 s each with 0.8 s gaps, the third running since T + 2600
  const steps = groupSteps(
    [proc(1, T, null), proc(2, T + 0, T + 500), proc(3, T + 1300, T + 1800), proc(4, T + 2600, null)],
    loadRules(),
  );
  const sleep = steps.find((s) => s.name === "sleep")!;
  expect(sleep.durationMs).toBeNull();
  expect(sleep.liveBusy).toEqual({ msBefore: 1000, liveFrom: T + 2600 });
  const shown = (now: number) => topStep("r", sleep, "sleep", [], true, now).elapsedMs;
  // at T + 2800: 1 s ended + 0.2 s of the live one; never the 2.8 s since the first start
  expect(shown(T + 2800)).toBe(1200);
  expect(shown(T + 3000)).toBe(1400);
});
