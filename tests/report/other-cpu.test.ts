/**
 * An `other` step counts a process from its last exec when it is in the step by its own executable (a
 * shell's child that became `true`): its wall and its CPU alike. The CPU the child used before the exec
 * (the shell's work, exec_cpu_us) goes to the parent's `other` step. Before, the wall started at the exec
 * and the CPU at the fork: a shell loop's 300 `true`s showed 115 % CPU for work that ran one at a time
 * (newcomer). Oracle: a static program reading its own CPU clock first thing in main and at its end
 * (CLOCK_PROCESS_CPUTIME_ID: the kernel's runtime of the process, the subshell it was before included).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

// CPU clock (ns) at main, spin ~5 ms of CPU, CPU clock at the end: one line appended to argv[1]
const SPIN = `#include <stdio.h>
#include <time.h>
static long long cpu(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
int main(int argc, char **argv) {
  long long a = cpu(), b;
  do b = cpu(); while (b - a < 5000000);
  FILE *f = fopen(argv[1], "a");
  fprintf(f, "%lld %lld\\n", a, cpu());
  return fclose(f) != 0;
}
`;

let dir: string;
beforeAll(() => {
  dir = tempDir();
  writeFileSync(join(dir, "spin.c"), SPIN);
  const cc = Bun.spawnSync(["gcc", "-O2", "-static", "-o", join(dir, "spin"), join(dir, "spin.c")], {
    stderr: "pipe",
  });
  if (cc.exitCode !== 0) throw new Error(`gcc: ${cc.stderr.toString()}`);
});

/** `bash -c script` under tracer run as `name`; spin's lines in `log`: its CPU clock at main and at its end (ms) */
function runClocks(env: Record<string, string>, name: string, script: string, log: string): number[][] {
  const r = Bun.spawnSync([BIN, "run", "--quiet", "--name", name, "--", "bash", "-c", script], {
    env,
    stderr: "pipe",
  });
  expect(r.exitCode, r.stderr.toString()).toBe(0);
  return readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" ").map((x) => Number(x) / 1e6));
}

interface JsonStep {
  name: string;
  kind: string;
  processes: number;
  duration_ms: number;
  cpu_seconds: number;
}

test("a subshell's work before it became the step's program is its parent's CPU, not the step's (oracle: the program's CPU clock)", () => {
  const env = isolatedEnv();
  const log = join(dir, "clocks");
  const N = 10;
  // each child loops ~20 ms as a subshell (bash), then execs spin: one at a time
  const script = `for n in $(seq ${N}); do (i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec ${dir}/spin ${log}); done`;
  const clocks = runClocks(env, "spins", script, log);
  expect(clocks).toHaveLength(N);
  const atMain = clocks.reduce((s, [a]) => s + a!, 0);
  const afterMain = clocks.reduce((s, [a, b]) => s + b! - a!, 0);
  // the subshells' loops are most of each process's CPU
  expect(atMain).toBeGreaterThan(N * 5);

  const rep = Bun.spawnSync([BIN, "report", "spins", "--format", "json"], { env, stdout: "pipe" });
  const steps = (JSON.parse(rep.stdout.toString()) as { steps: JsonStep[] }).steps;
  const spin = steps.find((s) => s.name === "spin")!;
  const bash = steps.find((s) => s.name === "bash")!;
  expect(spin.processes).toBe(N);
  const spinMs = spin.cpu_seconds * 1000;
  // from the exec: what ran after main, plus the exec's end and libc's start before it (0.4-0.7 ms each
  // here; a loaded CI host has shown 1.1 ms on average, tests/report/exec-slice.test.ts); from the fork
  // (before): the subshells' ~20 ms loops too
  expect(spinMs).toBeGreaterThanOrEqual(afterMain - 0.1);
  expect(spinMs).toBeLessThan(afterMain + N * 2);
  // one at a time: no more CPU than wall
  expect(spinMs).toBeLessThanOrEqual(spin.duration_ms + 1);
  // the loops went to the shell that ran them: the parent's step
  expect(bash.cpu_seconds * 1000).toBeGreaterThan(atMain - N * 1);
});

test("a child forked before its parent became the step's program was the shell's work, not the step's (oracle: the program's CPU clock)", () => {
  const env = isolatedEnv();
  const log = join(dir, "clocks-sub");
  const N = 5;
  // the attack's shape: a command substitution's shell forks a subshell that loops ~20 ms and becomes
  // `true`, then itself becomes spin (`exec` inside the substitution): the loop ran as the shell's fork
  const script = `for n in $(seq ${N}); do (x=$( (i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec /bin/true); exec ${dir}/spin ${log})); done`;
  const clocks = runClocks(env, "subs", script, log);
  expect(clocks).toHaveLength(N);
  const afterMain = clocks.reduce((s, [a, b]) => s + b! - a!, 0);
  const rep = Bun.spawnSync([BIN, "report", "subs", "--format", "json"], { env, stdout: "pipe" });
  const steps = (JSON.parse(rep.stdout.toString()) as { steps: JsonStep[] }).steps;
  const spin = steps.find((s) => s.name === "spin")!;
  const spinMs = spin.cpu_seconds * 1000;
  // before: the loops, the `true`s' part before their exec, went to spin's step (the step their
  // parent became), not to the shell's
  expect(spinMs).toBeGreaterThanOrEqual(afterMain - 0.1);
  expect(spinMs).toBeLessThan(afterMain + N * 2);
  expect(spinMs).toBeLessThanOrEqual(spin.duration_ms + 1);
});

test("a child forked while CMD was still its shell: CMD's shell part, in no step, not in the step of the program CMD became (oracle: the program's CPU clock)", () => {
  const env = isolatedEnv();
  const log = join(dir, "clocks-cmd");
  // the attack's shape (2 Dec 2026): a subshell loops ~20 ms then becomes spin; then bash runs its last
  // command in its own place (spin again, an exec). The loop ran in CMD's shell's fork: it went to the
  // step of CMD's final program, which did not exist yet (635-926 % CPU in one such run)
  const script = `(i=0; while [ $i -lt 40000 ]; do i=$((i+1)); done; exec ${dir}/spin ${log}); ${dir}/spin ${log}`;
  const clocks = runClocks(env, "cmdshell", script, log);
  expect(clocks).toHaveLength(2);
  // the subshell's CPU at main is its loop (~20 ms or more); the second spin's only its start
  expect(clocks[0]![0]!).toBeGreaterThan(5);
  const afterMain = clocks.reduce((s, [a, b]) => s + b! - a!, 0);
  const rep = Bun.spawnSync([BIN, "report", "cmdshell", "--format", "json"], { env, stdout: "pipe" });
  const steps = (JSON.parse(rep.stdout.toString()) as { steps: JsonStep[] }).steps;
  // both spins (the subshell by its own executable, CMD as its final program) in one step: each from its
  // exec, the loop in no step
  const spin = steps.find((s) => s.name === "spin")!;
  expect(spin.processes).toBe(2);
  const spinMs = spin.cpu_seconds * 1000;
  expect(spinMs).toBeLessThan(afterMain + clocks[0]![0]! * 0.5);
  expect(steps.reduce((s, x) => s + x.cpu_seconds * 1000, 0)).toBeLessThan(afterMain + clocks[0]![0]! * 0.5);
});
