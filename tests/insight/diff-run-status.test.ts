/**
 * `tracer diff --fail-on-regression` when the run itself got worse (a newcomer's report, reproduced
 * twice): run A exits 0, run B runs the same two named steps plus a third that fails, and exits 1. The
 * failed step's key exists only in B, so it was never "newly-failed", and the gate passed (exit 0). Now
 * a run that ended well in A and failed or was aborted in B is a regression (`run: newly-failed`), and
 * so is a failed step only in B; both are named on stderr and in the text, and carried by --json.
 * The same with a run aborted by ^C (SIGINT to tracer), a Snakemake run's usual end. Real processes
 * under `tracer run`; `samtools` is a stand-in script (the default rules name it a tool by its argv).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import {
  BIN,
  ROOT,
  cleanupTemp,
  ensureBuilt,
  isolatedEnv,
  run,
  tempDir,
  waitFor,
} from "../helpers/harness.ts";
import { start } from "../run/_helpers.ts";

const PAYLOAD = "\x1b]0;PWNED\x07\x1b[2J";
const SHOWN = "\\x1b]0;PWNED\\x07\\x1b[2J";
/** a raw control byte (other than tab/newline) in `s` */
const rawControl = (s: string) => /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/.test(s);

let env: Record<string, string>;
let dir: string;
const tracerRun = async (name: string, ...cmd: string[]) => {
  const r = await run(["run", "--quiet", "--name", name, "--pipeline", "gate", "--", ...cmd], {
    env,
    cwd: dir,
  });
  return r.code;
};

beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir();
  env = isolatedEnv();
  // faidx and index succeed; any other subcommand fails, as `samtools idxstats nosuch.bam` does
  writeFileSync(join(dir, "samtools"), '#!/bin/sh\ncase "$1" in faidx|index) exit 0;; esac\nexit 1\n', {
    mode: 0o755,
  });
  expect(await tracerRun("gateA", "bash", "-c", "./samtools faidx ref.fa; ./samtools index aln.bam")).toBe(0);
  expect(
    await tracerRun(
      "gateB",
      "bash",
      "-c",
      "./samtools faidx ref.fa; ./samtools index aln.bam; ./samtools idxstats nosuch.bam; exit 1",
    ),
  ).toBe(1);
  // a failing step whose name is hostile (argv is recorded data)
  expect(
    await tracerRun(
      "gateH",
      "bash",
      "-c",
      './samtools faidx ref.fa; ./samtools index aln.bam; ./samtools "$0"; exit 1',
      PAYLOAD,
    ),
  ).toBe(1);
  // no step in common with gateA or gateB (one tool each, run directly): ends well / fails
  expect(await tracerRun("lone", "./samtools", "faidx", "other.fa")).toBe(0);
  expect(await tracerRun("loneFail", "./samtools", "view", "nosuch.bam")).toBe(1);
  expect(await tracerRun("loneIndex", "./samtools", "index", "aln.bam")).toBe(0);
});
afterAll(cleanupTemp);

test("the reproduction: run 0 → 1 and a failed step only in B: exit 7, both named (was exit 0)", async () => {
  const r = await run(["diff", "gateA", "gateB", "--fail-on-regression", "10"], { env });
  expect(r.code).toBe(7);
  expect(r.stderr).toMatch(/^tracer: regression: run: newly-failed \(done, exit 0 → failed, exit 1\)$/m);
  expect(r.stderr).toMatch(/^tracer: regression: tool:samtools idxstats: failed, only in B \(exit 1\)$/m);
  // steps did match: no "nothing compared" message
  expect(r.stderr).not.toContain("no step matched");
  // the text says how each run ended, the run's change, and the failed step's exit
  const lines = r.stdout.split("\n");
  expect(lines[0]).toMatch(/^A {2}gateA \(.*\), pipeline gate: done, exit 0$/);
  expect(lines[1]).toMatch(/^B {2}gateB \(.*\), pipeline gate: failed, exit 1 {2}\(newly-failed\)$/);
  expect(r.stdout).toMatch(/^ {2}samtools idxstats {2}\(failed, exit 1\) {2}\[tool:samtools idxstats\]$/m);
  // without the gate: the same text, exit 0, nothing on stderr
  const plain = await run(["diff", "gateA", "gateB"], { env });
  expect(plain.code).toBe(0);
  expect(plain.stderr).toBe("");
  expect(plain.stdout).toContain("(newly-failed)");
});

test("the reverse (A failed, B ended well): no regression, exit 0; the run is 'fixed'", async () => {
  // a limit no figure reaches: what is checked here is that A's failures do not count against B
  // (gateA's samtools index absorbs bash's time, bash exec'ing its last command: a figure grows)
  const r = await run(["diff", "gateB", "gateA", "--fail-on-regression", "1000000"], { env });
  expect(r.code).toBe(0);
  expect(r.stderr).toBe("");
  expect(r.stdout.split("\n")[1]).toMatch(/pipeline gate: done, exit 0 {2}\(fixed\)$/);
  // the failed step only in A is listed, not counted
  expect(r.stdout).toMatch(/^only in A:$/m);
  expect(r.stdout).toContain("(failed, exit 1)  [tool:samtools idxstats]");
  // both failed: no run change, but B's failed step only in B still counts
  const both = await run(["diff", "gateB", "gateH", "--fail-on-regression", "1000000"], { env });
  expect(both.code).toBe(7);
  expect(both.stderr).not.toContain("regression: run:");
});

test("nothing matched: 7 when B's run failed (the failure is known whatever the steps), else 8", async () => {
  const r = await run(["diff", "lone", "loneFail", "--fail-on-regression", "10"], { env });
  expect(r.code).toBe(7);
  expect(r.stderr).toContain("tracer: regression: run: newly-failed (done, exit 0 → failed, exit 1)");
  expect(r.stderr).toContain("tracer: regression: tool:samtools view: failed, only in B (exit 1)");
  // the steps' figures went unchecked: still said
  expect(r.stderr).toMatch(
    /^tracer: no step matched: run A lone .* share no step key, so no step's figures could be compared$/m,
  );
  // the reverse, and two runs that both ended well: nothing known to be worse, nothing compared: 8
  expect((await run(["diff", "loneFail", "lone", "--fail-on-regression", "10"], { env })).code).toBe(8);
  expect((await run(["diff", "loneIndex", "lone", "--fail-on-regression", "10"], { env })).code).toBe(8);
});

test("a hostile step name in the new lines is escaped, on stderr and stdout", async () => {
  const r = await run(["diff", "gateA", "gateH", "--fail-on-regression", "10"], { env });
  expect(r.code).toBe(7);
  expect(rawControl(r.stderr)).toBe(false);
  expect(rawControl(r.stdout)).toBe(false);
  expect(r.stderr).toContain(`: failed, only in B (exit 1)`);
  expect(r.stderr).toContain(SHOWN);
  expect(r.stdout).toContain(SHOWN);
});

test("--json: the runs' ends, run_status_change and the only-in-B exit; valid against docs/diff-schema.json", async () => {
  const schema = JSON.parse(readFileSync(join(ROOT, "docs", "diff-schema.json"), "utf8"));
  const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
  const j = await run(["diff", "gateA", "gateB", "--json", "--fail-on-regression", "10"], { env });
  expect(j.code).toBe(7);
  const d = JSON.parse(j.stdout);
  expect(validate(d)).toBe(true);
  expect(validate.errors ?? []).toEqual([]);
  expect(d.a).toMatchObject({ name: "gateA", status: "done", exit_code: 0, signal: null, stop_signal: null });
  expect(d.b).toMatchObject({
    name: "gateB",
    status: "failed",
    exit_code: 1,
    signal: null,
    stop_signal: null,
  });
  expect(d.run_status_change).toBe("newly-failed");
  expect(d.only_in_b.find((s: { key: string }) => s.key === "tool:samtools idxstats")).toEqual({
    key: "tool:samtools idxstats",
    name: "samtools idxstats",
    kind: "tool",
    failed: true,
    exit_code: 1,
    signal: null,
    oom_killed: false,
  });
  const back = JSON.parse((await run(["diff", "gateB", "gateA", "--json"], { env })).stdout);
  expect(back.run_status_change).toBe("fixed");
  expect(validate(back)).toBe(true);
  // the schema catches drift in the new fields
  expect(validate({ ...d, run_status_change: "worse" })).toBe(false);
  expect(validate({ ...d, b: { ...d.b, exit_code: "1" } })).toBe(false);
  // added within tracer-diff/1: optional, so an older tracer's output still validates
  const { run_status_change: _, ...old } = d;
  const ref = ({ id, name, pipeline }: { id: string; name: string; pipeline: string }) => ({
    id,
    name,
    pipeline,
  });
  const onlyOld = ({ key, name, kind, failed }: Record<string, unknown>) => ({ key, name, kind, failed });
  expect(
    validate({
      ...old,
      a: ref(d.a),
      b: ref(d.b),
      only_in_a: d.only_in_a.map(onlyOld),
      only_in_b: d.only_in_b.map(onlyOld),
    }),
  ).toBe(true);
});

test("a run aborted by ^C (SIGINT to tracer) after one that ended well: run newly-aborted, exit 7", async () => {
  // CMD writes its pid to the file named by its argument, then sleeps SECONDS (0: ends at once)
  const code = `import os, sys, time
open(sys.argv[1] + ".tmp", "w").write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(float(sys.argv[2]))`;
  const py = (file: string, secs: string) => ["/usr/bin/python3", "-c", code, file, secs];
  expect(await tracerRun("calm", ...py(join(dir, "pid0"), "0"))).toBe(0);
  const file = join(dir, "pid1");
  const s = start(
    [BIN, "run", "--quiet", "--name", "cut", "--pipeline", "gate", "--", ...py(file, "60")],
    env,
  );
  await waitFor(() => existsSync(file), 20_000, "CMD started");
  process.kill(s.proc.pid, "SIGINT");
  expect((await s.done).code).not.toBe(0);
  const r = await run(["diff", "calm", "cut", "--fail-on-regression", "1000000"], { env });
  expect(r.code).toBe(7);
  expect(r.stderr).toMatch(
    /^tracer: regression: run: newly-aborted \(done, exit 0 → aborted \(SIGINT\), exit .+\)$/m,
  );
  expect(r.stdout.split("\n")[1]).toMatch(/: aborted \(SIGINT\), exit .+ {2}\(newly-aborted\)$/);
  const d = JSON.parse((await run(["diff", "calm", "cut", "--json"], { env })).stdout);
  expect(d.b).toMatchObject({ status: "aborted", stop_signal: 2 });
  expect(d.run_status_change).toBe("newly-aborted");
}, 60_000);
