/** Report formats over a real recorded run: json against docs/report-schema.json, nextflow, csv, table, --output, cost. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { NEXTFLOW_COLUMNS } from "../../src/report/index.ts";
import { ROOT, cleanupTemp, run } from "../helpers/harness.ts";
import { type Recorded, recordPipeline } from "./_pipeline.ts";

let rec: Recorded;
// biome-ignore lint/suspicious/noExplicitAny: the parsed report is checked by the schema first
let json: any;
beforeAll(async () => {
  rec = await recordPipeline();
  const r = await run(["report", rec.name, "--format", "json", "--price-per-hour", "2.5"], { env: rec.env });
  expect(r.code).toBe(0);
  json = JSON.parse(r.stdout);
});
afterAll(cleanupTemp);

/**
 * Whether the capture recorded summarize.py's argv. As root the netlink sockets are drained every
 * 100 ms, and the ~70 ms script can end before its /proc/PID/cmdline is read (about 1 run in 5 here);
 * it then keeps only its comm. The step's naming itself is covered deterministically by
 * steps.test.ts, so here the script step is checked when it was captured.
 */
function scriptCaptured(): boolean {
  const yes = json.steps.some((s: { name: string }) => s.name === "summarize.py");
  if (!yes) console.warn("note: the recorder did not capture summarize.py's exec in this run");
  return yes;
}

describe("json", () => {
  test("validates against docs/report-schema.json", () => {
    const schema = JSON.parse(readFileSync(join(ROOT, "docs", "report-schema.json"), "utf8"));
    const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
    const ok = validate(json);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // and the schema is strict enough to catch a drift
    expect(validate({ ...json, extra: 1 })).toBe(false);
    expect(validate({ ...json, steps: [{ ...json.steps[0], peak_rss_bytes: "1 MB" }] })).toBe(false);
  });

  test("the pipeline's steps, named by the rules, in start order, with the failure", () => {
    // the wrapper script and commands no rule names are `other` steps (tested in steps.test.ts)
    const named = json.steps.filter((s: { kind: string }) => s.kind !== "other");
    const names = named.map((s: { name: string }) => s.name);
    const kinds = named.map((s: { kind: string }) => s.kind);
    if (scriptCaptured()) {
      expect(names).toEqual(["sort", "summarize.py", "gzip", "sort"]);
      expect(kinds).toEqual(["tool", "script", "tool", "tool"]);
    } else {
      expect(names).toEqual(["sort", "gzip", "sort"]);
      expect(kinds).toEqual(["tool", "tool", "tool"]);
    }
    const failed = json.steps.filter((s: { failed: boolean }) => s.failed);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ index: named.at(-1).index, exit_code: 2 });
    expect(json.totals.failed_steps).toBe(1);
    expect(json.totals.steps).toBe(json.steps.length);
    // sort read 300k numbers and wrote them back sorted: ~1.7 MB through write()
    expect(named[0].wchar).toBeGreaterThan(1_000_000);
    expect(named[0].cpu_seconds).toBeGreaterThan(0);
    expect(named[0].peak_rss_bytes).toBeGreaterThan(1_000_000);
  });

  test("totals: wall, CPU hours, peak memory, bytes, and the cost from --price-per-hour", () => {
    const t = json.totals;
    expect(t.wall_ms).toBeGreaterThan(0);
    expect(t.cpu_hours).toBeGreaterThan(0);
    const stepCpu = json.steps.reduce((a: number, s: { cpu_seconds: number }) => a + s.cpu_seconds, 0);
    // each step's cpu_seconds is rounded to the µs (half a µs each way): 1 µs for the sum was too little
    // for 6 steps once (0.2753589996 against 0.275360 − 1e-6, CI 2 Dec 2026)
    expect(t.cpu_hours * 3600).toBeGreaterThanOrEqual(stepCpu - json.steps.length * 0.5e-6 - 1e-9);
    expect(t.peak_rss_bytes).toBeGreaterThanOrEqual(
      Math.max(...json.steps.map((s: { peak_rss_bytes: number }) => s.peak_rss_bytes)),
    );
    expect(t.wchar).toBeGreaterThan(json.steps[0].wchar);
    expect(t.price_per_hour).toBe(2.5);
    expect(t.cost).toBeCloseTo((t.wall_ms / 3.6e6) * 2.5, 4);
  });
});

test("nextflow: exactly Nextflow's trace header names, tab-separated, Nextflow units", async () => {
  const r = await run(["report", rec.name, "--format", "nextflow"], { env: rec.env });
  expect(r.code).toBe(0);
  const [head, ...rows] = r.stdout.trimEnd().split("\n");
  expect(head).toBe(
    "task_id\thash\tnative_id\tname\tstatus\texit\tsubmit\tduration\trealtime\t%cpu\tpeak_rss\tpeak_vmem\trchar\twchar\tread_bytes\twrite_bytes",
  );
  expect(head!.split("\t")).toEqual([...NEXTFLOW_COLUMNS]);
  expect(rows).toHaveLength(json.steps.length);
  const cells = rows.map((l) => Object.fromEntries(l.split("\t").map((v, i) => [NEXTFLOW_COLUMNS[i], v])));
  expect(cells.map((c) => c.status)).toEqual(
    json.steps.map((s: { failed: boolean }) => (s.failed ? "FAILED" : "COMPLETED")),
  );
  const failed = cells.filter((c) => c.status === "FAILED");
  expect(failed.map((c) => [c.name, c.exit])).toEqual([["sort", "2"]]);
  for (const c of cells) {
    expect(c.submit).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    expect(c.duration).toMatch(/^(\d+ms|\d+(\.\d)?s|(\d+d )?(\d+h )?\d+m \d+s)$/);
    expect(c["%cpu"]).toMatch(/^\d+\.\d%$/);
    expect(c.peak_rss).toMatch(/^(0|\d+(\.\d)? (B|KB|MB|GB|TB))$/);
    expect(c.wchar).toMatch(/^(0|\d+(\.\d)? (B|KB|MB|GB|TB))$/);
  }
  expect(cells.find((c) => c.name === "sort")!.wchar).toMatch(/ MB$/);
});

test("csv: a header and one RFC 4180 row per step", async () => {
  const r = await run(["report", rec.name, "--format", "csv"], { env: rec.env });
  const lines = r.stdout.split("\r\n").filter(Boolean);
  expect(lines[0]).toStartWith("index,name,kind,tool,pid,started_at");
  expect(lines).toHaveLength(json.steps.length + 1);
  const rows = lines.slice(1).filter((l) => !/^\d+,[^,]*,other,/.test(l));
  expect(rows[0]).toMatch(/^\d+,sort,tool,sort,/);
  if (scriptCaptured()) expect(rows[1]).toMatch(/^\d+,summarize\.py,script,python,/);
});

test("table (default): header, totals and steps, then the process tree", async () => {
  const r = await run(["report", rec.name, "--price-per-hour", "1"], { env: rec.env });
  expect(r.stdout).toContain(`steps     ${json.steps.length} (1 failed)`);
  expect(r.stdout).toMatch(/cost +\d+\.\d{4} at 1 per hour/);
  expect(r.stdout).toMatch(new RegExp(`\n${json.steps.length} .*FAILED 2 .*sort #2\n`));
  expect(r.stdout).toContain("./pipeline.sh");
  expect(r.stdout.indexOf("\nprocesses\n")).toBeGreaterThan(r.stdout.indexOf("gzip"));
});

test("--output writes the file and says so on stderr; bad flags are usage errors", async () => {
  const out = join(rec.dir, "trace.txt");
  const r = await run(["report", rec.name, "--format", "nextflow", "--output", out], { env: rec.env });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("");
  expect(r.stderr).toContain(`to ${out}`);
  expect(readFileSync(out, "utf8")).toStartWith("task_id\thash\t");
  const bad = await run(["report", "--format", "xml"], { env: rec.env });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--format must be one of table, json, csv, nextflow, html");
  const price = await run(["report", "--price-per-hour", "-3"], { env: rec.env });
  expect(price.code).toBe(2);
  for (const flag of ["-o", "--output"]) {
    const empty = await run(["report", flag, ""], { env: rec.env });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("--output needs a file name (it was empty)");
  }
});

test("--json keeps the raw run and processes (docs/CLI.md)", async () => {
  const r = JSON.parse((await run(["report", rec.name, "--json"], { env: rec.env })).stdout);
  expect(r.run.name).toBe(rec.name);
  expect(r.processes.length).toBe(json.totals.processes);
});
