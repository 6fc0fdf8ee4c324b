/**
 * `bash -c 'A; B'` forks A, waits for it, then runs B in place of itself (the shell's last command is
 * exec'd): A's parent pid is B's. A was the shell's child, not B's, so it must not be folded into B's step
 * (found by a newcomer: bwa mem's 2 s of CPU and 56 MiB were charged to `samtools view`). The kernel's
 * parent stays stored as it is; the steps place A as the shell would have been placed.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
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
