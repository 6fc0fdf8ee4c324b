/**
 * A report keeps of each process's argv text only its first ARGV_HEAD_CHARS characters, its length and
 * a hash of the whole (src/steps/_text.ts), and reads a long one whole again from the store where it
 * parses or shows it (src/steps/_columns.ts). What it reports must not change: two command lines that
 * differ only past the head are still told apart (a fork that did not exec is the one whose text is
 * its parent's), steps are named and shown from the whole line (never the head passed off as the whole),
 * argv[0] past the head still groups `other` steps, and a run's long lines are read again only for
 * the processes a report names or prints, not for every process.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { loadReport } from "../../src/report/index.ts";
import { loadRules } from "../../src/rules/index.ts";
import { ARGV_HEAD_CHARS, FORK } from "../../src/steps/_columns.ts";
import { ColumnsBuilder, groupColumns, groupSteps } from "../../src/steps/index.ts";
import { argvTextById, eachReportRow } from "../../src/store/scan.ts";
import { listReportProcesses, openStore } from "../../src/store/index.ts";
import { BIN, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";
import { syntheticRun } from "./_store-runs.ts";

afterAll(cleanupTemp);

/** an argument long enough to put what follows it past the head */
const PAD = "p".repeat(ARGV_HEAD_CHARS + 50);
/** `argv` with its last character changed: the same length, a difference only past the head */
const lastChanged = (argv: string[]): string[] => {
  const last = argv[argv.length - 1]!;
  return [...argv.slice(0, -1), `${last.slice(0, -1)}${last.endsWith("x") ? "y" : "x"}`];
};

function store() {
  const dir = tempDir();
  const db = openStore(join(dir, "state", "tracer.db"));
  return { dir, db, ...syntheticRun(db, "long") };
}

test("lines that differ only past the head are told apart, forks found, steps named and shown from the whole line", () => {
  const { db, w, rec } = store();
  const root = rec(undefined, ["bash", "x.sh"], "bash");
  // a script (a step of its own unless a named tool or script runs inside it) and a fork of it that
  // did not exec (its own text: part of it), and the same script again with a child whose line differs
  // from its own only in the last character: a second script inside it, which makes it a wrapper
  const script = ["python3", "filter.py", `--note=${PAD}`, "--last=a"];
  const p1 = rec(root, script, "python3");
  rec(p1, script, "python3");
  const p2 = rec(root, script, "python3");
  rec(p2, lastChanged(script), "python3");
  // unnamed commands: an executable whose argv[0] is longer than the head, one with escapes past it,
  // and a shell whose -c text is past the head (a make recipe and a job are named from such text)
  const longExe = [`/opt/${"d".repeat(ARGV_HEAD_CHARS)}/helper`, "--x"];
  const q = rec(root, longExe, "helper");
  rec(q, lastChanged(longExe), "helper");
  rec(root, ["/usr/local/bin/tool", PAD, 'quote " back \\ slash', "a\u202eb"], "tool");
  rec(root, ["sh", "-c", `: ${PAD}; echo done`], "sh");
  w.flush();
  const rules = loadRules({ config: false });
  // the list keeps every argv whole: what the columns must give
  const fromList = groupSteps(listReportProcesses(db, "run-1"), rules);
  const fromColumns = loadReport(db, "long", rules).steps;
  expect(fromColumns).toEqual(fromList);
  // the fork stayed in its script's step; the child that differs past the head is a step of its own
  const scripts = fromColumns.filter((s) => s.kind === "script");
  expect(scripts.map((s) => s.processIds.length).sort()).toEqual([1, 2]);
  expect(scripts.every((s) => s.name === "filter.py")).toBe(true);
  expect(scripts.find((s) => s.processIds.length === 1)!.command).toBe(lastChanged(script).join(" "));
  // each command whole, not a head: the head is shorter than every one of these
  const helper = fromColumns.find((s) => s.name === "helper")!;
  expect(helper.command).toBe(longExe.join(" "));
  expect(helper.processIds.length).toBe(2);
  expect(fromColumns.find((s) => s.name === "tool")!.command).toEndWith('quote " back \\ slash a\u202eb');
  expect(fromColumns.find((s) => s.name === "sh")!.command).toBe(`sh -c : ${PAD}; echo done`);
  db.close();
});

test("FORK: a child whose text equals its parent's in length and head but not past it is not a fork", () => {
  const { db, w, rec } = store();
  const root = rec(undefined, ["/bin/x", PAD, "tail-a"], "x");
  rec(root, ["/bin/x", PAD, "tail-a"], "x"); // a fork that did not exec
  rec(root, ["/bin/x", PAD, "tail-b"], "x"); // an exec of a line alike up to its last character
  rec(root, ["/bin/x", PAD, "tail-aa"], "x"); // longer
  w.flush();
  let reads = 0;
  const whole = argvTextById(db, "run-1");
  const b = new ColumnsBuilder(loadRules({ config: false }), 4, (id) => {
    reads++;
    return whole(id);
  });
  eachReportRow(db, "run-1", (row, text) => b.add(row, text));
  const c = b.finish(true);
  expect(c.argvText.isCut(0)).toBe(true);
  groupColumns(c);
  expect(Array.from(c.code.subarray(1))).toEqual([FORK, -1, -1]);
  // argv[0] off the head; the whole line read again to show it
  expect(c.lines.first(2)).toBe("/bin/x");
  expect(c.lines.command(2)).toBe(`/bin/x ${PAD} tail-b`);
  expect(c.lines.argv(3)).toEqual(["/bin/x", PAD, "tail-aa"]);
  expect(reads).toBeGreaterThan(0);
  db.close();
});

/**
 * Two argv, as stored (JSON.stringify's text, 3,000 printable characters), that differ only past the
 * head and have the same xxHash3: built by hand by an attack (2 Dec 2026) from that hash's lanes
 * (a change in one stripe cancelled by one in another of the same lane). The head/length/hash compare
 * with that public, unkeyed hash took the second for a fork of the first, and a crash of it vanished.
 */
function collidingPair(): [string[], string[]] {
  const text = (tail1: string, tail2: string) => {
    const t = ['["/bin/sh","/tmp/atk-repro/c.sh","', ..."x".repeat(3000)].join("").slice(0, 2998).split("");
    t.splice(1024, 5, ...`POPO${tail1}`);
    t.splice(1792, 5, ...`@KJI${tail2}`);
    return `${t.join("")}"]`;
  };
  const a = text("b", "a");
  const b = text("c", "`");
  expect(a.length).toBe(3000);
  expect(Bun.hash.xxHash3(a)).toBe(Bun.hash.xxHash3(b)); // the old hash's collision
  const argv = [JSON.parse(a) as string[], JSON.parse(b) as string[]] as [string[], string[]];
  expect(argv.map((x) => JSON.stringify(x))).toEqual([a, b]);
  return argv;
}

test("FORK: a child whose line was built to collide with its parent's under xxHash3 is not a fork", () => {
  const [a, b] = collidingPair();
  const { db, w, rec } = store();
  const root = rec(undefined, a, "sh");
  rec(root, a, "sh"); // a fork that did not exec
  rec(root, b, "sh"); // another script line, built to collide
  w.flush();
  const b2 = new ColumnsBuilder(loadRules({ config: false }), 3, argvTextById(db, "run-1"));
  eachReportRow(db, "run-1", (row, text) => b2.add(row, text));
  const c = b2.finish(true);
  expect(c.argvText.isCut(2)).toBe(true);
  groupColumns(c);
  expect(c.code[1]).toBe(FORK);
  expect(c.code[2]).not.toBe(FORK);
  expect(c.argvText.same(0, 1)).toBe(true);
  expect(c.argvText.same(0, 2)).toBe(false);
  db.close();
});

test("a line is read again only from the run's own rows: another run's row with that id gives nothing", () => {
  const { db, w, rec } = store();
  rec(undefined, ["/bin/x", PAD, "mine"], "x");
  w.flush();
  const { id } = db.query("SELECT id FROM processes WHERE run_id = 'run-1'").get() as { id: number };
  expect(argvTextById(db, "run-1")(id)).toBe(JSON.stringify(["/bin/x", PAD, "mine"]));
  expect(argvTextById(db, "run-2")(id)).toBeNull();
  db.close();
});

test("a run of 3,000 long lines is read again only for what the report names and prints", () => {
  const { db, w, rec } = store();
  const root = rec(undefined, ["/usr/local/bin/driver"], "driver");
  for (let i = 0; i < 3000; i++) rec(root, ["/bin/true", `${PAD}-${i}`], "true");
  w.flush();
  let reads = 0;
  const whole = argvTextById(db, "run-1");
  const b = new ColumnsBuilder(loadRules({ config: false }), 3001, (id) => {
    reads++;
    return whole(id);
  });
  eachReportRow(db, "run-1", (row, text) => b.add(row, text));
  const steps = groupColumns(b.finish(true));
  // two `other` steps (driver, true): the root of each shown, nothing else parsed
  expect(steps.map((s) => s.name).sort()).toEqual(["driver", "true"]);
  expect(steps.find((s) => s.name === "true")!.command).toBe(`/bin/true ${PAD}-0`);
  expect(reads).toBeLessThanOrEqual(2);
  db.close();
});

test("the binary's table, process table and JSON show a line longer than the head whole", () => {
  const { dir, db, w, rec } = store();
  const root = rec(undefined, ["/usr/local/bin/driver"], "driver");
  const long = ["/usr/bin/env", `--note=${PAD}`, "THE-END"];
  rec(root, long, "env");
  w.flush();
  db.close();
  const env = isolatedEnv({ TRACER_STATE_DIR: join(dir, "state"), TRACER_RUNTIME_DIR: join(dir, "run") });
  const report = (...args: string[]) => {
    const p = Bun.spawnSync([BIN, "report", "long", ...args], { env, stdout: "pipe", stderr: "pipe" });
    expect(p.exitCode, p.stderr.toString()).toBe(0);
    return p.stdout.toString();
  };
  const json = JSON.parse(report("--format", "json")) as { steps: { command: string }[] };
  expect(json.steps.map((s) => s.command)).toContain(long.join(" "));
  const table = report("--processes", "all", "--width", "1000");
  expect(table).toContain(`${PAD} THE-END`);
  expect(table).not.toContain("command line cut");
});
