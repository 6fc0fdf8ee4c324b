/**
 * Recorded data is attacker-controlled (issue 13, findings 1–4), reproduced with the compiled binary
 * on real processes and files: escape sequences in argv and names, a formula-shaped script name in
 * CSV, a Nextflow work dir whose name holds a tab and a newline, a FIFO planted as `.command.run`.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  linkSync,
  mkdirSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { readStat } from "../../src/observe/procfs.ts";
import { processTable } from "../../src/run/proctable.ts";
import type { ProcessRow, RunRow } from "../../src/store/index.ts";
import { encodeLossless } from "../../src/core/lossless.ts";
import { readUntrustedHead } from "../../src/core/untrusted.ts";
import type { StepProcess } from "../../src/steps/index.ts";
import { nextflowTaskName, nextflowWorkdir } from "../../src/steps/_workflow.ts";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

beforeAll(ensureBuilt);
afterAll(cleanupTemp);

const PAYLOAD = "\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED";
const SHOWN = "\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mRED";
/** a raw control byte (other than tab/newline/CR where the format allows them) in `s` */
const rawControl = (s: string) => /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0080-\u009f]/.test(s);

/** Run the binary; a hang is ended by the guard and reported as code -1 (a timeout only as a guard). */
async function guarded(args: string[], env: Record<string, string>, guardMs = 20_000) {
  const p = Bun.spawn([BIN, ...args], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let hung = false;
  const guard = setTimeout(() => {
    hung = true;
    p.kill(9);
  }, guardMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(guard);
  return { code: hung ? -1 : code, stdout, stderr };
}

test("finding 1: escape sequences in argv, --name and --pipeline reach no output raw (report, runs, summary line)", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "samtools"), "#!/bin/sh\nsleep 0.3\n", { mode: 0o755 });
  const env = isolatedEnv();
  const name = `n${PAYLOAD}`;
  // such names are refused now (src/core/names.ts), and the refusal quotes them escaped
  const refused = await run(["run", "--name", name, "--pipeline", `p\u202eevil`, "--", "true"], { env });
  expect(refused.code).toBe(2);
  expect(rawControl(refused.stderr)).toBe(false);
  const r = await run(["run", "--name", "hostile", "--", "./samtools", PAYLOAD], { env, cwd: dir });
  // the run summary line on stderr
  expect(r.code).toBe(0);
  expect(rawControl(r.stderr)).toBe(false);
  expect(r.stderr).toContain(`run hostile:`);
  // a store written before names were checked (or by hand) may still hold them: they are shown escaped
  const db = new Database(join(env.TRACER_STATE_DIR!, "tracer.db"));
  db.query("UPDATE runs SET name = ?, pipeline = ?").run(name, "p\u202eevil");
  db.close();
  const table = await run(["report"], { env });
  expect(table.code).toBe(0);
  expect(rawControl(table.stdout)).toBe(false);
  expect(table.stdout).toContain(`samtools ${SHOWN}`); // the STEP column
  expect(table.stdout).toContain(`./samtools ${SHOWN}`); // the COMMAND column and header
  expect(table.stdout).toContain(`run       n${SHOWN}`);
  expect(table.stdout).toContain("pipeline  p\\u{202e}evil");
  const runs = await run(["runs"], { env });
  expect(rawControl(runs.stdout)).toBe(false);
  expect(runs.stdout).toContain(`n${SHOWN}`);
  expect(runs.stdout).not.toContain("\u202e");
  // JSON keeps the exact data
  const json = JSON.parse((await run(["report", "--format", "json"], { env })).stdout);
  expect(json.run.name).toBe(name);
  expect(json.run.command).toEqual(["./samtools", PAYLOAD]);
  // an error that quotes recorded data (a run name no run has)
  const missing = await run(["report", `x${PAYLOAD}`], { env });
  expect(missing.code).not.toBe(0);
  expect(rawControl(missing.stderr)).toBe(false);
});

test("finding 1: a comm set with prctl(PR_SET_NAME) is read losslessly and shown escaped", async () => {
  // python sets its own comm to ESC sequences and a byte that is not UTF-8, then waits to be read
  const py = Bun.spawn(
    [
      "python3",
      "-c",
      `import ctypes,sys,time
ctypes.CDLL(None).prctl(15, b"\\x1b]0;PWN\\x07\\xff", 0, 0, 0)
print("ok", flush=True)
time.sleep(5)`,
    ],
    { stdout: "pipe" },
  );
  const reader = py.stdout.getReader();
  await reader.read();
  const st = readStat(py.pid);
  py.kill();
  await py.exited;
  expect(st?.comm).toBe("\x1b]0;PWN\x07\udcff");
  const row = {
    id: 1,
    pid: py.pid,
    parentId: null,
    argv: null,
    comm: st!.comm,
    startedAt: null,
  } as ProcessRow;
  const shown = processTable({ startedAt: 0 } as RunRow, [row]);
  expect(shown).toContain("[\\x1b]0;PWN\\x07\\xff]");
  expect(rawControl(shown)).toBe(false);
});

test("finding 2: a script named =HYPERLINK(...).py is no live formula in CSV or the Nextflow trace", async () => {
  const dir = tempDir();
  // the name `=HYPERLINK("http://x","y").py` holds a "/", so as a file it is a directory and
  // a script `x","y").py`; the name the step gets must itself be the formula: the same without "//"
  const script = '=HYPERLINK("http:x","y").py';
  writeFileSync(join(dir, script), "import time\ntime.sleep(0.3)\n");
  const env = isolatedEnv();
  expect((await run(["run", "--", "python3", script], { env, cwd: dir })).code).toBe(0);
  const csv = await run(["report", "--format", "csv"], { env });
  expect(csv.code).toBe(0);
  // the script's step (a pyenv shim's own steps can come first: the shim runs before python does)
  const rows = csv.stdout.split("\r\n").slice(1);
  // the name cell starts with a quote and an apostrophe, never with "=" (at the start or after a comma)
  expect(rows.some((r) => r.includes(`,"'=HYPERLINK(""http:x"",""y"").py",`))).toBe(true);
  for (const cells of rows) expect(/(^|,)\s*"?=/.test(cells)).toBe(false);
  // the trace is tab-separated and opened in spreadsheets too: the name column is shown, not run
  const trace = await run(["report", "--format", "nextflow"], { env });
  expect(trace.code).toBe(0);
  const lines = trace.stdout.split("\n");
  expect(lines.some((l) => l.split("\t")[3] === `'${script}`)).toBe(true);
  for (const l of lines) expect(l.split("\t").some((c) => /^\s*[=+@]/.test(c))).toBe(false);
});

test("a command line with ;= holds no formula for a spreadsheet that splits at semicolons either (an attack, 2 Dec 2026)", async () => {
  const dir = tempDir();
  // Excel in `;` locales splits a .csv line at every `;`, quotes or not: the piece after one is a cell
  const a0 = "x;=HYPERLINK(CHAR(104)&CHAR(116))";
  const a1 = "y; =cmd|' /C calc'!A0";
  const a2 = 'z;"@SUM(1)';
  const env = isolatedEnv();
  const r = await run(
    [
      "run",
      "--name",
      "semi",
      "--",
      "bash",
      "-c",
      'exec -a "$0" /bin/sh -c "sleep 0.2" "$1" "$2"',
      a0,
      a1,
      a2,
    ],
    {
      env,
      cwd: dir,
    },
  );
  expect(r.code).toBe(0);
  const csv = await run(["report", "semi", "--format", "csv"], { env });
  expect(csv.code).toBe(0);
  const lines = csv.stdout.split("\r\n").filter((l) => l.length);
  expect(lines.some((l) => l.includes("HYPERLINK"))).toBe(true);
  for (const line of lines)
    for (const cell of line.split(";"))
      expect(cell, line).not.toMatch(/^\s*"?[=+\-@\uff1d\uff0b\uff0d\uff20]/);
  // the text is kept: an apostrophe after the `;`, as at a cell's start
  expect(csv.stdout).toContain("x;'=HYPERLINK(CHAR(104)&CHAR(116))");
});

/** A Nextflow-like task: work/ab/<dir with a tab and a newline>/.command.run, run with bash like Nextflow. */
async function nextflowLikeRun() {
  const dir = tempDir();
  const hashDir = "c0\tff\nee00";
  const work = join(dir, "work", "ab", hashDir);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, ".command.run"), `#!/bin/bash\n# NEXTFLOW TASK: ALIGN${PAYLOAD} (1)\nsleep 0.3\n`);
  const env = isolatedEnv();
  const task = join("work", "ab", hashDir);
  const r = await run(["run", "--", "bash", "-c", 'cd "$1" && bash .command.run; true', "nf", task], {
    env,
    cwd: dir,
  });
  expect(r.code).toBe(0);
  return { env, work };
}

test("finding 3 and the NEXTFLOW TASK name: a work dir with a tab and a newline splits no TSV row", async () => {
  const { env } = await nextflowLikeRun();
  const tsv = await run(["report", "--format", "nextflow"], { env });
  expect(tsv.code).toBe(0);
  const lines = tsv.stdout.split("\n").slice(0, -1);
  // the header, the outer `bash -c` (an `other` step) and the task
  expect(lines).toHaveLength(3);
  for (const l of lines) expect(l.split("\t")).toHaveLength(16);
  const [, hash, , name] = lines.find((l) => l.split("\t")[1] !== "-" && l.includes("ALIGN"))!.split("\t");
  // Nextflow's short hash: the first 6 characters of the hash dir, tab and newline shown escaped
  expect(hash).toBe("ab/c0\\tff\\n");
  expect(name).toBe(`ALIGN${SHOWN} (1)`);
  expect(rawControl(tsv.stdout)).toBe(false);
  const table = await run(["report"], { env });
  expect(table.stdout).toContain(`ALIGN${SHOWN} (1)`);
  expect(rawControl(table.stdout)).toBe(false);
  const csv = await run(["report", "--format", "csv"], { env });
  expect(csv.stdout.split("\r\n").slice(0, -1)).toHaveLength(3);
  expect(rawControl(csv.stdout.replace(/\r\n/g, ""))).toBe(false);
});

test("finding 4: a FIFO planted as .command.run hangs no report format; it names nothing", async () => {
  const { env, work } = await nextflowLikeRun();
  unlinkSync(join(work, ".command.run"));
  expect(Bun.spawnSync(["mkfifo", join(work, ".command.run")]).exitCode).toBe(0);
  for (const format of ["table", "json", "csv", "nextflow"]) {
    const r = await guarded(["report", "--format", format], env);
    expect({ format, code: r.code }).toEqual({ format, code: 0 });
    expect(r.stdout).toContain("task ab/c0\\tff\\nee00");
    expect(r.stdout).not.toContain("ALIGN");
  }
});

test("untrusted reads: regular files owned by an accepted uid only, no final symlink, capped", () => {
  const dir = tempDir();
  const file = join(dir, "f");
  writeFileSync(file, "x".repeat(10_000));
  const me = process.getuid!();
  expect(readUntrustedHead(file, { maxBytes: 4096, owners: [me] })?.length).toBe(4096);
  symlinkSync(file, join(dir, "link"));
  expect(readUntrustedHead(join(dir, "link"), { maxBytes: 4096, owners: [me] })).toBeUndefined();
  // a hard link planted to a file of an accepted owner (root's, say) is not read either
  linkSync(file, join(dir, "hard"));
  expect(readUntrustedHead(join(dir, "hard"), { maxBytes: 4096, owners: [me] })).toBeUndefined();
  unlinkSync(join(dir, "hard"));
  expect(readUntrustedHead(dir, { maxBytes: 4096, owners: [me] })).toBeUndefined();
  expect(readUntrustedHead("/dev/zero", { maxBytes: 4096, owners: [0, me] })).toBeUndefined();
  expect(readUntrustedHead(file, { maxBytes: 4096, owners: [me + 1] })).toBeUndefined();
  if (me === 0) {
    // another user's file is not read by root's report (the store keeps no uid to accept it by)
    chownSync(file, 65534, 65534);
    expect(readUntrustedHead(file, { maxBytes: 4096, owners: [0] })).toBeUndefined();
    expect(readUntrustedHead(file, { maxBytes: 4096, owners: [0, 65534] })?.length).toBe(4096);
  }
  chmodSync(dir, 0o700);
  renameSync(file, join(dir, "g"));
  expect(readUntrustedHead(file, { maxBytes: 1, owners: [me] })).toBeUndefined();

  // a work dir whose name is not UTF-8 (recorded as U+DC80–U+DCFF) is found and read by its exact bytes
  const raw = `${dir}/w\udcff`;
  mkdirSync(Buffer.from(encodeLossless(raw)));
  writeFileSync(Buffer.from(encodeLossless(`${raw}/.command.run`)), "# NEXTFLOW TASK: T1\n");
  const task = { argv: ["bash", "./.command.run"], cwd: raw } as StepProcess;
  expect(nextflowWorkdir(task)).toBe(raw);
  expect(nextflowTaskName(raw)).toBe("T1");
});

test("JSON and the store keep bytes that are not UTF-8 (argv, cwd) exactly; the table shows them as \\xNN", async () => {
  const dir = tempDir();
  const env = isolatedEnv();
  // python execs a shell whose argv and cwd hold the byte 0xFF and an ESC (Bun's argv would be UTF-8)
  const py = `import os
os.mkdir(b"d\\xff")
os.chdir(b"d\\xff")
os.execv(b"/bin/sh", [b"sh", b"-c", b"sleep 0.3", b"x\\xff\\x1b[2J"])`;
  expect((await run(["run", "--", "python3", "-c", py], { env, cwd: dir })).code).toBe(0);
  const { openStore, listProcesses, findRun } = await import("../../src/store/index.ts");
  const db = openStore(join(env.TRACER_STATE_DIR!, "tracer.db"));
  const procs = listProcesses(db, findRun(db).id);
  db.close();
  const sh = procs.find((p) => p.argv?.[0] === "sh");
  expect(sh?.argv).toEqual(["sh", "-c", "sleep 0.3", "x\udcff\x1b[2J"]);
  expect(sh?.cwd).toBe(`${dir}/d\udcff`); // (path.join would turn the lone surrogate into U+FFFD)
  const table = await run(["report"], { env });
  expect(table.stdout).toContain("sh -c sleep 0.3 x\\xff\\x1b[2J");
  expect(rawControl(table.stdout)).toBe(false);
});

test("executables named x\\xfe and x\\xfd are two other steps, named exactly in JSON and as \\xNN in the table", async () => {
  // node:path's basename turned both bytes into U+FFFD: one step `x\ufffd` held both (found by a newcomer)
  const dir = tempDir();
  const env = isolatedEnv();
  const py = `import os, shutil
for b in (b"x\\xfe", b"x\\xfd"):
    shutil.copy(b"/bin/true", b)
    os.chmod(b, 0o755)
    os.spawnv(os.P_WAIT, b"./" + b, [b"./" + b])`;
  expect(
    (await run(["run", "--quiet", "--name", "bytes", "--", "python3", "-c", py], { env, cwd: dir })).code,
  ).toBe(0);
  const j = JSON.parse((await run(["report", "bytes", "--format", "json"], { env })).stdout) as {
    steps: { name: string; processes: number }[];
  };
  const names = j.steps.map((s) => s.name).filter((n) => n.startsWith("x"));
  expect(names.sort()).toEqual(["x\udcfd", "x\udcfe"]);
  const table = (await run(["report", "bytes"], { env })).stdout;
  expect(table).toContain("x\\xfe");
  expect(table).toContain("x\\xfd");
  expect(table).not.toContain("\ufffd");
});

test("finding 1: `rules test` and `logs` show escape sequences escaped", async () => {
  const env = isolatedEnv();
  const rules = await run(["rules", "test", "--", "python3", `${PAYLOAD}.py`], { env });
  expect(rules.code).toBe(0);
  expect(rules.stdout).toContain(`${SHOWN}.py  (rule "python"`);
  expect(rawControl(rules.stdout)).toBe(false);
  // a log line carrying recorded data (an older tracer wrote fields raw)
  mkdirSync(env.TRACER_STATE_DIR!, { recursive: true, mode: 0o700 });
  writeFileSync(join(env.TRACER_STATE_DIR!, "daemon.log"), `t info adopted argv=${PAYLOAD}\u202e\nsecond\n`, {
    mode: 0o600,
  });
  const logs = await run(["logs"], { env });
  expect(logs.code).toBe(0);
  expect(logs.stdout).toBe(`t info adopted argv=${SHOWN}\\u{202e}\nsecond\n`);
});

test("doctor shows a path holding escape sequences escaped", async () => {
  const env = isolatedEnv();
  env.TRACER_STATE_DIR = join(tempDir(), `s${PAYLOAD}`);
  const r = await run(["doctor"], { env });
  expect(r.stdout).toContain(`s${SHOWN}`);
  expect(rawControl(r.stdout)).toBe(false);
});

test("a script named 'a<newline>b.sh' is not shown as 'a b.sh' (another file): escaped in the table, exact in JSON", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "a\nb.sh"), "sleep 0.05\n");
  const env = isolatedEnv();
  expect((await run(["run", "--name", "nl", "--", "bash", "a\nb.sh"], { env, cwd: dir })).code).toBe(0);
  const table = await run(["report", "nl"], { env });
  expect(table.stdout).toContain("  a\\nb.sh\n");
  expect(table.stdout).not.toContain("a b.sh");
  const json = JSON.parse((await run(["report", "nl", "--format", "json"], { env })).stdout) as {
    steps: { name: string; kind: string }[];
  };
  expect(json.steps.map((s) => s.name)).toContain("a\nb.sh");
});

test("a script named 'a<newline>b.sh' and one named 'a\\nb.sh' show alike, so they are told apart by #1/#2", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "a\nb.sh"), "true\n");
  writeFileSync(join(dir, "a\\nb.sh"), "true\n");
  const env = isolatedEnv();
  const cmd = "bash ./'a\\nb.sh'; bash ./\"$(printf 'a\\nb.sh')\"; true";
  expect((await run(["run", "--name", "twins", "--", "bash", "-c", cmd], { env, cwd: dir })).code).toBe(0);
  const table = await run(["report", "twins"], { env });
  expect(table.stdout).toContain("  a\\nb.sh #1\n");
  expect(table.stdout).toContain("  a\\nb.sh #2\n");
});
