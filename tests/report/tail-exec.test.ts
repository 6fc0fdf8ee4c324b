/**
 * `bash -c 'A; B'` forks A, waits for it, then runs B in place of itself (the shell's last command is
 * exec'd): A's parent pid is B's. A was the shell's child, not B's, so it must not be folded into B's step
 * (found by a newcomer: bwa mem's 2 s of CPU and 56 MiB were charged to `samtools view`). The kernel's
 * parent stays stored as it is; the steps place A as the shell would have been placed.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

interface JsonStep {
  name: string;
  kind: string;
  processes: number;
  wchar: number | null;
}

test("bash -c 'dd …; samtools faidx …': dd is a step of its own, not part of samtools faidx", () => {
  const dir = tempDir();
  writeFileSync(join(dir, "ref.fa"), ">r\nACGTACGTACGTACGT\n");
  const env = isolatedEnv();
  const script = "dd if=/dev/zero of=/dev/null bs=1M count=20 status=none; samtools faidx ref.fa";
  const run = Bun.spawnSync([BIN, "run", "--quiet", "--name", "tail", "--", "bash", "-c", script], {
    env,
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(run.exitCode).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "tail", "--format", "json"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(rep.exitCode).toBe(0);
  const steps = (JSON.parse(rep.stdout.toString()) as { steps: JsonStep[] }).steps;
  const faidx = steps.find((s) => s.name === "samtools faidx");
  const dd = steps.find((s) => s.name === "dd");
  expect(faidx).toMatchObject({ kind: "tool", processes: 1 });
  // dd wrote 20 MiB to /dev/null: its own step carries it, samtools faidx's does not
  expect(dd?.processes).toBe(1);
  expect(dd?.wchar).toBeGreaterThanOrEqual(20 * 1024 * 1024);
  expect(faidx!.wchar ?? 0).toBeLessThan(1024 * 1024);

  // the store keeps the kernel's parent (dd's parent is the pid that became samtools) and when it exec'd
  const db = new Database(join(env.TRACER_STATE_DIR!, "tracer.db"), { readonly: true });
  const rows = db
    .query(
      "SELECT id, parent_id AS parentId, argv, started_at AS startedAt, exec_at AS execAt FROM processes",
    )
    .all() as {
    id: number;
    parentId: number | null;
    argv: string;
    startedAt: number;
    execAt: number | null;
  }[];
  db.close();
  const cmd = rows.find((r) => JSON.parse(r.argv)[0] === "samtools")!;
  const ddRow = rows.find((r) => JSON.parse(r.argv)[0] === "dd")!;
  expect(ddRow.parentId).toBe(cmd.id);
  expect(cmd.execAt).not.toBeNull();
  expect(ddRow.startedAt).toBeLessThan(cmd.execAt!);
}, 60_000);

test("a make recipe 'dd …; samtools faidx …' stays one recipe step: the earlier command is the recipe's", () => {
  // the recipe's shell is a step by its place (make's child), not by the tool it became: what it forked
  // before becoming samtools is still the recipe's (unlike a shell that is CMD, above)
  const dir = tempDir();
  writeFileSync(join(dir, "ref.fa"), ">r\nACGTACGTACGTACGT\n");
  writeFileSync(
    join(dir, "Makefile"),
    "all: ref.fa.fai\nref.fa.fai: ref.fa\n\tdd if=/dev/zero of=/dev/null bs=1M count=20 status=none; samtools faidx ref.fa\n",
  );
  const env = isolatedEnv();
  const run = Bun.spawnSync([BIN, "run", "--quiet", "--name", "mk", "--", "make", "SHELL=/bin/bash"], {
    env,
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(run.exitCode).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "mk", "--format", "json"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const steps = (JSON.parse(rep.stdout.toString()) as { steps: JsonStep[] }).steps;
  const recipes = steps.filter((s) => s.kind === "make-recipe");
  expect(recipes.length).toBe(1);
  expect(recipes[0]!.processes).toBe(2);
  expect(recipes[0]!.wchar).toBeGreaterThanOrEqual(20 * 1024 * 1024);
}, 60_000);

interface TimedStep {
  name: string;
  started_at: string;
  duration_ms: number | null;
}

/** `bash -c 'sleep 0.6; date +%s%N > at; TOOL'` recorded; the steps and the shell's clock just before the exec (ms) */
function tailRun(tool: string): { steps: TimedStep[]; execNotBeforeMs: number } {
  const dir = tempDir();
  writeFileSync(join(dir, "ref.fa"), ">r\nACGTACGTACGTACGT\n");
  const env = isolatedEnv();
  const script = `sleep 0.6; date +%s%N > at; ${tool}`;
  const run = Bun.spawnSync([BIN, "run", "--quiet", "--name", "late", "--", "bash", "-c", script], {
    env,
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(run.exitCode).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "late", "--format", "json"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(rep.exitCode).toBe(0);
  const ns = BigInt(readFileSync(join(dir, "at"), "utf8").trim());
  return {
    steps: (JSON.parse(rep.stdout.toString()) as { steps: TimedStep[] }).steps,
    execNotBeforeMs: Number(ns / 1_000_000n),
  };
}

// the tool's step starts where the shell became it, not at the shell's fork: before, `samtools faidx`
// showed the 0.6 s of sleep before it as its own wall (the oracle: `date`, run by the shell right
// before the exec, on the realtime clock)
for (const [tool, name] of [
  ["samtools faidx ref.fa", "samtools faidx"],
  ["md5sum ref.fa", "md5sum"],
] as const)
  test(`bash -c 'sleep 0.6; …; ${tool}': the ${name} step starts at its exec, after sleep`, () => {
    const { steps, execNotBeforeMs } = tailRun(tool);
    const step = steps.find((s) => s.name === name);
    const sleep = steps.find((s) => s.name === "sleep");
    expect(step).toBeDefined();
    expect(sleep).toBeDefined();
    const start = Date.parse(step!.started_at);
    const sleepEnd = Date.parse(sleep!.started_at) + sleep!.duration_ms!;
    // ms timestamps: a millisecond either way
    expect(start).toBeGreaterThanOrEqual(execNotBeforeMs - 1);
    expect(start).toBeGreaterThanOrEqual(Math.floor(sleepEnd) - 1);
    expect(step!.duration_ms!).toBeLessThan(sleep!.duration_ms!);
  }, 60_000);

test("the CPU the shell used before it became the tool is not the tool step's (oracle: bash's `times`)", () => {
  const dir = tempDir();
  writeFileSync(join(dir, "ref.fa"), ">r\nACGTACGTACGTACGT\n");
  const env = isolatedEnv();
  // bash burns CPU in a builtin loop, forks a child (the earlier image has one: the step starts at the
  // exec), prints its own CPU so far (getrusage RUSAGE_SELF), then runs md5sum in its own place
  const script =
    "i=0; while [ $i -lt 60000 ]; do i=$((i+1)); done; sleep 0; times > times.txt; md5sum ref.fa";
  const run = Bun.spawnSync([BIN, "run", "--quiet", "--name", "burn", "--", "bash", "-c", script], {
    env,
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(run.exitCode).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "burn", "--format", "json"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const step = (
    JSON.parse(rep.stdout.toString()) as { steps: (JsonStep & { cpu_seconds: number })[] }
  ).steps.find((s) => s.name === "md5sum")!;
  const raw = Bun.spawnSync([BIN, "report", "burn", "--json"], { env, stdout: "pipe", stderr: "pipe" });
  const procs = (
    JSON.parse(raw.stdout.toString()) as {
      processes: {
        comm: string;
        userUs: number;
        systemUs: number;
        execCpuUs: number | null;
        startedAt: number;
      }[];
    }
  ).processes;
  const md5 = procs.find((p) => p.comm === "md5sum")!;
  // `times`' first line: the shell's own user and system time, e.g. "0m0.412s 0m0.021s"
  const [user, system] = readFileSync(join(dir, "times.txt"), "utf8")
    .split("\n")[0]!
    .split(" ")
    .map((t) => {
      const m = /^(\d+)m([\d.]+)s$/.exec(t)!;
      return Number(m[1]) * 60 + Number(m[2]);
    });
  const shellSeconds = user! + system!;
  expect(shellSeconds).toBeGreaterThan(0.05);
  const wholeSeconds = (md5.userUs + md5.systemUs) / 1e6;
  expect(md5.execCpuUs).not.toBeNull();
  // the step holds what the process ran after its exec: the whole minus the shell's part, the shell's
  // part as `times` saw it to within the slice it ran in afterwards (the exec itself) and ms rounding
  expect(Math.abs(wholeSeconds - step.cpu_seconds - shellSeconds)).toBeLessThan(0.015);
  expect(step.cpu_seconds).toBeLessThan(wholeSeconds / 2);

  // without that CPU (a run recorded before schema 5) the step stays whole: start and CPU move together
  const db = new Database(join(env.TRACER_STATE_DIR!, "tracer.db"));
  db.exec("UPDATE processes SET exec_cpu_us = NULL");
  db.close();
  const again = Bun.spawnSync([BIN, "report", "burn", "--format", "json"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const whole = (
    JSON.parse(again.stdout.toString()) as {
      steps: (JsonStep & { cpu_seconds: number; started_at: string })[];
    }
  ).steps.find((s) => s.name === "md5sum")!;
  expect(whole.cpu_seconds).toBeCloseTo(wholeSeconds, 5);
  expect(Math.abs(Date.parse(whole.started_at) - md5.startedAt)).toBeLessThanOrEqual(1);
}, 60_000);

test("a shell inside a make recipe that execs its last command: the recipe keeps all its CPU (oracle: `times`)", () => {
  // the inner shell is no step's root: its work before the exec is the recipe's (found by an attack:
  // the recipe showed 0.5 s of 1.9 s)
  const dir = tempDir();
  writeFileSync(join(dir, "f"), "x\n");
  writeFileSync(
    join(dir, "Makefile"),
    "out.txt:\n\tbash -c '/bin/true; i=0; while [ $$i -lt 60000 ]; do i=$$((i+1)); done; md5sum f' > out.txt; times > T\n",
  );
  const env = isolatedEnv();
  const run = Bun.spawnSync([BIN, "run", "--quiet", "--name", "mk2", "--", "make", "SHELL=/bin/bash"], {
    env,
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(run.exitCode).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "mk2", "--format", "json"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const recipe = (
    JSON.parse(rep.stdout.toString()) as { steps: (JsonStep & { cpu_seconds: number })[] }
  ).steps.find((s) => s.kind === "make-recipe")!;
  // `times`: the recipe shell's own time, then its reaped children's (the inner bash, md5sum, true)
  const [own, children] = readFileSync(join(dir, "T"), "utf8")
    .trim()
    .split("\n")
    .map((line) =>
      line
        .split(" ")
        .map((t) => {
          const m = /^(\d+)m([\d.]+)s$/.exec(t)!;
          return Number(m[1]) * 60 + Number(m[2]);
        })
        .reduce((a, b) => a + b, 0),
    );
  expect(children!).toBeGreaterThan(0.05);
  // the recipe's processes ran until `times` but for its own exit: a few ms at most
  expect(Math.abs(recipe.cpu_seconds - own! - children!)).toBeLessThan(0.02);
}, 60_000);

test("a shell in a wrapper script's `other` step that execs its last command: the wrapper's step gets its work (Σ steps = the run)", () => {
  // outer.sh runs a named tool, so it is a wrapper (an `other` step); the inner shell became md5sum (a
  // step of its own from its exec): the loop it ran as a shell before is the wrapper step's, where the
  // shell stood, not nobody's (found by the attack)
  const dir = tempDir();
  writeFileSync(join(dir, "ref.fa"), ">r\nACGTACGTACGTACGT\n");
  writeFileSync(
    join(dir, "outer.sh"),
    "samtools faidx ref.fa\nbash -c '/bin/true; i=0; while [ $i -lt 60000 ]; do i=$((i+1)); done; md5sum ref.fa'\ntrue\n",
  );
  const env = isolatedEnv();
  const run = Bun.spawnSync([BIN, "run", "--quiet", "--name", "wrap", "--", "bash", "outer.sh"], {
    env,
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(run.exitCode).toBe(0);
  const rep = Bun.spawnSync([BIN, "report", "wrap", "--format", "json"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const r = JSON.parse(rep.stdout.toString()) as {
    steps: { name: string; cpu_seconds: number }[];
    totals: { cpu_hours: number };
  };
  const sum = r.steps.reduce((a, s) => a + s.cpu_seconds, 0);
  expect(r.totals.cpu_hours * 3600).toBeGreaterThan(0.05);
  expect(Math.abs(sum - r.totals.cpu_hours * 3600)).toBeLessThan(0.001);
}, 60_000);
