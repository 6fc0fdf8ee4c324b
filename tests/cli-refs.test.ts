/**
 * Small CLI contracts a newcomer tripped over (1 Dec 2026), on the compiled binary: a run reference that
 * is a name and an id prefix at once is ambiguous, a prefix too short says why it found nothing,
 * `--processes` and `--grace` refuse what they cannot mean, and `-o -` is stdout.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createRun, finishRun, openStore } from "../src/store/index.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "./helpers/harness.ts";

afterAll(cleanupTemp);
await ensureBuilt();

/** runs 0190abcd-…1 and …2, and a third named "0190abcd" (a name that is also their id prefix) */
function store() {
  const env = isolatedEnv();
  const db = openStore(join(env.TRACER_STATE_DIR!, "tracer.db"));
  const add = (id: string, name: string, at: number) => {
    createRun(db, {
      id,
      name,
      pipeline: "p",
      command: ["x"],
      cwd: "/",
      host: "h",
      mode: "proc-poll",
      recorderPid: 1,
      startedAt: at,
    });
    finishRun(db, id, { endedAt: at + 10, exitCode: 0, eventsLost: 0, mode: "m" });
  };
  add("0190abcd-0000-7000-8000-000000000001", "one", 1000);
  add("0190abcd-0000-7000-8000-000000000002", "two", 2000);
  add("0190eeee-0000-7000-8000-000000000003", "0190abcd", 3000);
  db.close();
  return env;
}

test("a name that is also an id prefix of other runs is ambiguous (exit 2), its candidates listed", async () => {
  const env = store();
  const r = await run(["report", "0190abcd", "--json"], { env });
  expect(r.code).toBe(2);
  const e = JSON.parse(r.stdout).error;
  expect(e.code).toBe("E_RUN_AMBIGUOUS");
  expect(e.message).toContain("names one run and is an id prefix of 2 others");
  expect(e.candidates.map((c: { name: string }) => c.name).sort()).toEqual(["0190abcd", "one", "two"]);
  // a name that is no id prefix is still taken as it is
  expect((await run(["report", "one", "--format", "json"], { env })).code).toBe(0);
});

test("an id prefix under 4 characters finds nothing and says why", async () => {
  const r = await run(["report", "019"], { env: store() });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('no run "019"');
  expect(r.stderr).toContain("an id prefix needs at least 4 characters");
});

test("--processes takes all, steps or a number: the message says so", async () => {
  const r = await run(["report", "one", "--processes", "foo"], { env: store() });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('--processes must be all, steps or a whole number ≥ 0, got "foo"');
});

test("--grace without --kill-leftovers is a usage error, and CMD does not run", async () => {
  const dir = tempDir();
  const r = await run(["run", "--grace", "5", "--", "touch", join(dir, "ran")], { env: isolatedEnv() });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("--grace applies only with --kill-leftovers");
  expect(existsSync(join(dir, "ran"))).toBe(false);
});

test("report -o - writes to stdout, not to a file named '-'", async () => {
  const env = store();
  const cwd = tempDir();
  const r = await run(["report", "one", "--format", "csv", "-o", "-"], { env, cwd });
  expect(r.code).toBe(0);
  expect(r.stdout.split("\n")[0]).toContain("command");
  expect(existsSync(join(cwd, "-"))).toBe(false);
});

test("tracer --bogus names the unknown option (exit 2), text and --json, instead of printing the help", async () => {
  const t = await run(["--bogus"]);
  expect(t.code).toBe(2);
  expect(t.stderr).toBe('tracer: unknown option "--bogus" (see --help)\n');
  const j = await run(["--json", "--bogus=3"]);
  expect(j.code).toBe(2);
  expect(JSON.parse(j.stdout).error.message).toBe('unknown option "--bogus" (see --help)');
  // no command and no option: the help on stderr, exit 2, as before
  const none = await run([]);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("USAGE tracer");
});

test("a run reference with a line break is shown escaped in 'no run', not as a forged line", async () => {
  const r = await run(["report", "a\nFAKE: all good"], { env: store() });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('no run "a\\nFAKE: all good"');
  expect(r.stderr.split("\n").some((l) => l.startsWith("FAKE"))).toBe(false);
});

test("a run name shaped like a run id is refused (it would shadow, or be shadowed by, another run's id)", async () => {
  const dir = tempDir();
  const r = await run(
    ["run", "--name", "0190abcd-0000-7000-8000-000000000009", "--", "touch", join(dir, "ran")],
    {
      env: isolatedEnv(),
    },
  );
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("must not look like a run id");
  expect(existsSync(join(dir, "ran"))).toBe(false);
});
