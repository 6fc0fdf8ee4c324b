/**
 * An `other` step holds every process of one executable no step holds, started whenever: its wall is
 * the time at least one of them ran (the union of their lifetimes), not its first start to its last end
 * (found by a newcomer: five 10 ms `date` calls showed 2.4 s). Oracle: bash's own clock
 * ($EPOCHREALTIME) around each call, which brackets the child's whole life.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { busyOf } from "../../src/steps/_busy.ts";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

interface JsonStep {
  name: string;
  kind: string;
  processes: number;
  started_at: string;
  ended_at: string;
  duration_ms: number;
}

test("five `date` calls 0.4 s apart: the other step's wall is their own time, within bash's brackets", () => {
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

  // the trace: duration is the extent, realtime the union
  const nf = Bun.spawnSync([BIN, "report", "dates", "--format", "nextflow"], { env, stdout: "pipe" });
  const lines = nf.stdout.toString().trim().split("\n");
  const head = lines[0]!.split("\t");
  const row = lines.map((l) => l.split("\t")).find((r) => r[head.indexOf("name")] === "date")!;
  const ms = (v: string) => (v.endsWith("ms") ? Number(v.slice(0, -2)) : Number(v.slice(0, -1)) * 1000);
  expect(ms(row[head.indexOf("duration")]!)).toBeGreaterThanOrEqual(1600);
  expect(ms(row[head.indexOf("realtime")]!)).toBe(Math.round(date!.duration_ms));
}, 60_000);

test("busyOf: the union of lifetimes, unknown ones left out, spans bounded", () => {
  const nan = Number.NaN;
  expect(busyOf([0, 5, 20, nan, 30], [10, 12, 25, 40, nan])).toEqual({ ms: 17, spans: [0, 12, 20, 25] });
  expect(busyOf([], [])).toEqual({ ms: 0, spans: [] });
  // nested and touching lifetimes merge
  expect(busyOf([0, 1, 10], [10, 2, 11]).ms).toBe(11);
  // 2,000 disjoint lifetimes: the union exact, the drawing's spans at most 512, covering them all
  const start = Array.from({ length: 2000 }, (_, i) => i * 10 + (i % 7));
  const end = start.map((s, i) => s + 1 + (i % 3));
  const b = busyOf(start, end);
  expect(b.ms).toBe(end.reduce((sum, e, i) => sum + e - start[i]!, 0));
  expect(b.spans.length).toBe(1024);
  expect(b.spans[0]).toBe(0);
  expect(b.spans.at(-1)).toBe(end.at(-1));
  for (let k = 1; k < b.spans.length; k++) expect(b.spans[k]!).toBeGreaterThan(b.spans[k - 1]!);
});
