/**
 * `tracer report --json` (the raw run and its processes) is streamed a page of rows at a time: in row id
 * order when the rows are in start order (src/report/raw.ts), else by pages of ids in start order
 * (held whole before): either way its text is exactly the whole object's (jsonText of { run,
 * processes: listProcesses }), hostile text escaped alike.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { jsonText } from "../../src/core/json.ts";
import {
  type ProcessRecord,
  StoreWriter,
  createRun,
  findRun,
  listProcesses,
  openStore,
} from "../../src/store/index.ts";
import { writeRawJson } from "../../src/report/raw.ts";
import { inStartOrder } from "../../src/store/scan.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const env = isolatedEnv();
const dbPath = join(env.TRACER_STATE_DIR!, "tracer.db");

/** text a terminal may act on, JSON's escapes and a character outside the BMP (a tag: Cf) */
const HOSTILE = [
  "\u202eevil",
  "csi\u009b2J",
  'q"uote',
  "back\\slash",
  "tab\there\nnl",
  "tag\u{e0001}x",
  "ünï",
];

/**
 * A run of `n` processes under one root; `order`: the start of the k-th written (rows in id order),
 * null: unknown.
 */
function writeRun(id: string, n: number, order: (k: number) => number | null) {
  const db = openStore(dbPath);
  createRun(
    db,
    {
      id,
      name: `${id}-${HOSTILE[0]}`,
      pipeline: "p",
      command: ["bash", ...HOSTILE],
      cwd: "/w",
      host: "h",
      mode: "proc-poll",
      recorderPid: process.pid,
      startedAt: 1000,
    },
    { endedAt: 100_000, exitCode: 0, eventsLost: 0, mode: "proc-poll" },
  );
  const w = new StoreWriter(db, id);
  let root: ProcessRecord | undefined;
  for (let k = 0; k < n; k++) {
    const hostile = HOSTILE[k % HOSTILE.length]!;
    const p: ProcessRecord = {
      pid: 100 + k,
      startTicks: k,
      parent: root,
      comm: k % 5 ? "tool" : hostile.slice(0, 15),
      // every 7th repeats the previous command line (a fork that did not exec)
      argv: k % 7 === 3 ? ["tool", "arg", String(k - 1)] : ["tool", hostile, String(k)],
      cwd: `/w/${hostile}`,
      startedAt: order(k) ?? undefined,
      endedAt: (order(k) ?? 2000) + 5,
      exitCode: k % 11 ? 0 : 1,
      userUs: k % 13 ? 10 * k : undefined,
      systemUs: 3,
      peakRssKb: k % 17 ? 100 + k : undefined,
    };
    w.process(p);
    root ??= p;
  }
  w.flush();
  db.close();
}

beforeAll(async () => {
  await ensureBuilt();
  // 1,300 rows: more than two pieces of 512 and a page boundary's worth of shared comm/argv
  writeRun("in-order", 1300, (k) => 2000 + k);
  // every other row starts before the one written before it, and a few starts are unknown (first in
  // start order): streamed by ids in start order, two pages (256 rows, then the rest)
  writeRun("out-of-order", 1300, (k) => (k % 97 === 50 ? null : 2000 + k + (k % 2 ? -5 : 5)));
  writeRun("empty", 0, (k) => k);
});

for (const id of ["in-order", "out-of-order", "empty"])
  test(`${id}: --json is the whole object's text`, async () => {
    const db = openStore(dbPath, { readonly: true });
    const expected = `${jsonText({ run: findRun(db, id), processes: listProcesses(db, id) })}\n`;
    // the streamed path and the whole one are both taken
    expect(inStartOrder(db, id)).toBe(id !== "out-of-order");
    db.close();
    const r = await run(["report", id, "--json"], { env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected);
    // terminal-safe: no raw bidi override, C1 control or tag character reached stdout
    expect(r.stdout).not.toMatch(/[\u202e\u009b\u{e0001}]/u);
    const parsed = JSON.parse(r.stdout) as { processes: { argv: string[] | null }[] };
    expect(parsed.processes).toHaveLength(id === "empty" ? 0 : 1300);
  });

test("a run written to while its --json is streamed: the text is one snapshot's, in start order", () => {
  // past one page of rows (10,000), so a page is read after the first chunk is out
  writeRun("recording", 10_300, (k) => 2000 + k);
  const db = openStore(dbPath, { readonly: true });
  const run = findRun(db, "recording");
  const before = `${jsonText({ run, processes: listProcesses(db, "recording") })}\n`;
  const writer = openStore(dbPath);
  const parts: string[] = [];
  writeRawJson(db, run, (chunk) => {
    // the recorder writes a process that started before all the others meanwhile (a late fork)
    if (!parts.length) {
      const w = new StoreWriter(writer, "recording");
      w.process({ pid: 99, startTicks: 99_999, comm: "late", startedAt: 1 });
      w.flush();
    }
    parts.push(chunk);
  });
  writer.close();
  db.close();
  const text = parts.join("");
  const starts = (JSON.parse(text) as { processes: { startedAt: number }[] }).processes.map(
    (p) => p.startedAt,
  );
  for (let i = 1; i < starts.length; i++) expect(starts[i]! >= starts[i - 1]!).toBe(true);
  expect(text).toBe(before);
});
