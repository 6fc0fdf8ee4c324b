/**
 * A run that repeats a command line row after row (a loop of /bin/true, a chain of forks) is read with
 * one argv array for each stretch of equal rows (src/store/processes.ts), and steps are grouped from
 * it exactly as from separate arrays: the shared arrays are a saving, never a change of verdict.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { loadRules } from "../../src/rules/index.ts";
import { groupSteps } from "../../src/steps/index.ts";
import { listReportProcesses, openStore } from "../../src/store/index.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";
import { syntheticRun } from "./_store-runs.ts";

afterAll(cleanupTemp);

test("equal consecutive command lines share one argv array; the steps are those of unshared arrays", () => {
  const db = openStore(join(tempDir(), "tracer.db"));
  const { w, rec } = syntheticRun(db);
  const root = rec(undefined, ["bash", "x.sh"]);
  rec(root, ["/bin/true"], "true");
  rec(root, ["/bin/true"], "true");
  // the same argv under another comm (a different verdict may follow from comm): not taken as the previous
  rec(root, ["/bin/true"], "gzip");
  const bwa = rec(root, ["bwa", "mem", "ref.fa", "r.fq"]);
  rec(bwa, ["bwa", "mem", "ref.fa", "r.fq"]); // a fork that did not exec: part of its parent
  rec(root, ["bwa", "mem", "ref.fa", "r.fq"]);
  w.flush();
  const procs = listReportProcesses(db, "run-1");
  expect(procs.map((p) => p.argv?.join(" "))).toEqual([
    "bash x.sh",
    "/bin/true",
    "/bin/true",
    "/bin/true",
    "bwa mem ref.fa r.fq",
    "bwa mem ref.fa r.fq",
    "bwa mem ref.fa r.fq",
  ]);
  expect(procs[2]!.argv).toBe(procs[1]!.argv);
  expect(procs[3]!.argv).toBe(procs[1]!.argv);
  expect(procs[5]!.argv).toBe(procs[4]!.argv);
  expect(procs[4]!.argv).not.toBe(procs[0]!.argv);
  const rules = loadRules({ files: [] });
  const shared = groupSteps(procs, rules);
  // the same rows, each with an array of its own
  const copies = groupSteps(
    procs.map((p) => ({ ...p, argv: p.argv && [...p.argv] })),
    rules,
  );
  expect(shared).toEqual(copies);
  const names = shared.map((s) => `${s.kind}:${s.name}:${s.processIds.length}`).sort();
  expect(names).toContain("tool:bwa mem:2");
  expect(names).toContain("tool:bwa mem:1");
  db.close();
});
