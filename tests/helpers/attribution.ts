/**
 * The attribution invariant (issue 16): every recorded process is in exactly one step, so the steps'
 * CPU and I/O add up to the run's. Checked on a stored run through the compiled binary: the step
 * report (`--format json`) against the raw process rows (`report --json`).
 */
import { expect } from "bun:test";
import { run } from "./harness.ts";

interface RawProcess {
  userUs: number | null;
  systemUs: number | null;
  readBytes: number | null;
  writeBytes: number | null;
}
interface StepJson {
  key: string;
  cpu_seconds: number;
  read_bytes: number;
  write_bytes: number;
  processes: number;
}

/** Asserts the invariant for run `ref`; returns the step report's steps for further checks. */
export async function expectStepsCoverRun(env: Record<string, string>, ref: string): Promise<StepJson[]> {
  const [rep, raw] = await Promise.all([
    run(["report", ref, "--format", "json"], { env }),
    run(["report", ref, "--json"], { env }),
  ]);
  expect(rep.code).toBe(0);
  expect(raw.code).toBe(0);
  const steps = JSON.parse(rep.stdout).steps as StepJson[];
  const procs = JSON.parse(raw.stdout).processes as RawProcess[];
  const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);
  expect(sum(steps, (s) => s.processes)).toBe(procs.length);
  const cpu = sum(procs, (p) => (p.userUs ?? 0) + (p.systemUs ?? 0)) / 1e6;
  // each step's cpu_seconds is rounded to the µs: the sums agree within one µs a step
  expect(Math.abs(sum(steps, (s) => s.cpu_seconds) - cpu)).toBeLessThanOrEqual(steps.length * 1e-6 + 1e-9);
  expect(sum(steps, (s) => s.read_bytes)).toBe(sum(procs, (p) => p.readBytes ?? 0));
  expect(sum(steps, (s) => s.write_bytes)).toBe(sum(procs, (p) => p.writeBytes ?? 0));
  expect(new Set(steps.map((s) => s.key)).size).toBe(steps.length);
  return steps;
}
