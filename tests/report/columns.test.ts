/**
 * A report reads a run's processes into columns (src/steps/_columns.ts) and reads a step's command and
 * an `other` step's executable off each argv's stored JSON text when it has no escape. Those shortcuts
 * must give what the argv arrays give: recorded argv (attacker-controlled) with quotes, backslashes,
 * `","`, control characters, non-ASCII, a lone surrogate, empty arguments and empty argv, read from
 * the store, group into the same steps as the same processes held as a list.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { loadReport } from "../../src/report/index.ts";
import { loadRules } from "../../src/rules/index.ts";
import { groupSteps } from "../../src/steps/index.ts";
import { listReportProcesses, openStore } from "../../src/store/index.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";
import { syntheticRun } from "./_store-runs.ts";

afterAll(cleanupTemp);

const ARGVS: string[][] = [
  ["bwa", "mem", "ref.fa", "r.fq"],
  ["gzip", "-c", "out_1.vcf"],
  ["/usr/local/bin/helper", "--opt", "one two"],
  ["/usr/local/bin/helper", "--opt", "three"],
  ["sh", "-c", 'echo "a","b" \\ done'],
  ["sh", "-c", "printf 'x\\n' | tr x y\n\t"],
  ['/usr/bin/ta"il', "-n", "3"],
  ["c\\d", ""],
  [""],
  [],
  ["ünï/cødé", "ε", "\u202e"],
  ["/opt/x\udcff/run", "--flag"],
  ["samtools", "sort", "-o", 'o",".bam', "i.bam"],
  ['","', '","'],
];

test("steps from the store's columns are the steps of the same processes as a list, whatever their argv", () => {
  const db = openStore(join(tempDir(), "tracer.db"));
  const { w, rec } = syntheticRun(db, "r", (n) => n % 3);
  const root = rec(undefined, ["bash", "x.sh"], "bash");
  for (const argv of ARGVS) {
    const p = rec(root, argv, "x");
    // a child with the same argv (a fork that did not exec) and one with none
    rec(p, argv, "x");
    rec(p, undefined, "kid");
  }
  w.flush();
  const rules = loadRules({ config: false });
  const fromList = groupSteps(listReportProcesses(db, "run-1"), rules);
  const fromColumns = loadReport(db, "r", rules).steps;
  expect(fromColumns.length).toBeGreaterThan(5);
  expect(fromColumns).toEqual(fromList);
  // each step's command is its root's argv joined by spaces, as recorded
  for (const s of fromColumns.filter((s) => s.kind !== "other"))
    expect(ARGVS.map((a) => a.join(" "))).toContain(s.command);
});
