/**
 * A figure no process of a step recorded is unknown, not 0: null in `--format json` (and in the
 * totals when no process of the run has it), an empty CSV cell, "-" in the Nextflow trace and the
 * table. A real run is recorded with the compiled binary, then the store is made to hold what a
 * capture that lost the figures holds (NULL columns, no samples), as a process known only from its exit.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { ROOT, cleanupTemp, ensureBuilt, isolatedEnv, run } from "../helpers/harness.ts";

const FIGURES = [
  "cpu_seconds",
  "peak_rss_bytes",
  "peak_rss_upper_bytes",
  "read_bytes",
  "write_bytes",
  "rchar",
  "wchar",
];
const NULLED =
  "user_us = NULL, system_us = NULL, peak_rss_kb = NULL, rchar = NULL, wchar = NULL, read_bytes = NULL, write_bytes = NULL";

const env = isolatedEnv();
const schema = JSON.parse(readFileSync(join(ROOT, "docs", "report-schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/** Forget the figures of the processes `where` selects (and their samples). */
function forget(where: string) {
  const db = new Database(join(env.TRACER_STATE_DIR!, "tracer.db"));
  db.run(`DELETE FROM samples WHERE process_id IN (SELECT id FROM processes WHERE ${where})`);
  db.run(`UPDATE processes SET ${NULLED} WHERE ${where}`);
  db.close();
}

// biome-ignore lint/suspicious/noExplicitAny: checked against the schema first
async function jsonReport(): Promise<any> {
  const r = await run(["report", "unk", "--format", "json"], { env });
  expect(r.code, r.stderr).toBe(0);
  const json = JSON.parse(r.stdout);
  validate(json);
  expect(validate.errors ?? []).toEqual([]);
  return json;
}

beforeAll(async () => {
  await ensureBuilt();
  const r = await run(
    ["run", "--quiet", "--name", "unk", "--", "sh", "-c", "/bin/sleep 0.1; /bin/cat /dev/null"],
    {
      env,
    },
  );
  expect(r.code, r.stderr).toBe(0);
});
afterAll(cleanupTemp);

test("a step none of whose processes has a figure: null in JSON, empty in CSV, '-' in nextflow", async () => {
  forget("comm = 'sleep'");
  const json = await jsonReport();
  const sleep = json.steps.find((s: { name: string }) => s.name === "sleep");
  const cat = json.steps.find((s: { name: string }) => s.name === "cat");
  expect(sleep).toBeDefined();
  for (const f of FIGURES) expect({ f, v: sleep[f] }).toEqual({ f, v: null });
  expect(sleep.cpu_pct).toBeNull();
  expect(sleep.peak_rss_exact).toBe(false);
  // a step with its figures keeps numbers; the totals too (some processes have them: a lower bound)
  for (const f of FIGURES) expect(typeof cat[f]).toBe("number");
  expect(json.totals.cpu_hours).toBeGreaterThan(0);
  expect(typeof json.totals.rchar).toBe("number");

  const csv = await run(["report", "unk", "--format", "csv"], { env });
  const [head, ...rows] = csv.stdout.trimEnd().split("\r\n");
  const cols = head!.split(",");
  const row = rows.map((l) => l.split(",")).find((c) => c[cols.indexOf("name")] === "sleep")!;
  for (const f of FIGURES) expect({ f, cell: row[cols.indexOf(f)] }).toEqual({ f, cell: "" });
  expect(row[cols.indexOf("cpu_pct")]).toBe("");

  const nf = await run(["report", "unk", "--format", "nextflow"], { env });
  const nfRow = nf.stdout
    .split("\n")
    .find((l) => l.split("\t")[3] === "sleep")!
    .split("\t");
  // %cpu peak_rss peak_vmem rchar wchar read_bytes write_bytes
  expect(nfRow.slice(9)).toEqual(["-", "-", "-", "-", "-", "-", "-"]);
});

test("when no process of the run has a figure, the totals are null too", async () => {
  forget("1 = 1");
  const json = await jsonReport();
  for (const f of [
    "cpu_hours",
    "peak_rss_bytes",
    "peak_rss_upper_bytes",
    "read_bytes",
    "write_bytes",
    "rchar",
    "wchar",
  ])
    expect({ f, v: json.totals[f] }).toEqual({ f, v: null });
  expect(json.totals.peak_rss_exact).toBe(false);
  for (const s of json.steps) expect(s.cpu_seconds).toBeNull();
  const table = await run(["report", "unk"], { env });
  expect(table.stdout).toMatch(/^totals {4}wall [\d.]+s, CPU -, peak memory -$/m);
});
