/** `tracer rules check` and `tracer rules test` through the compiled binary. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir();
  env = isolatedEnv({ TRACER_CONFIG_DIR: join(dir, "config") });
  writeFileSync(
    join(dir, "mine.yml"),
    "version: 1\nrules:\n  - name: my-aligner\n    display_name: 'aligner {subcommand}'\n    process_name_is: bwa\n    first_arg_is: mem\n",
  );
  writeFileSync(join(dir, "typo.yml"), "rules:\n  - name: sorter\n    subcomand_is_one_of: [sort]\n");
});
afterAll(cleanupTemp);

test("check: a good file is ok (exit 0) with its counts", async () => {
  const r = await run(["rules", "check", join(dir, "mine.yml")], { env });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`${join(dir, "mine.yml")}: ok, 1 rule, 0 exclusions\n`);
});

test("check: a typo'd key fails (exit 1) naming file:line and key", async () => {
  const r = await run(["rules", "check", join(dir, "typo.yml")], { env });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`${join(dir, "typo.yml")}:3: subcomand_is_one_of: unknown key`);
  expect(r.stderr).toContain('did you mean "subcommand_is_one_of"');
});

test("check: a key holding a line break is shown on its problem's line, never as a line of its own", async () => {
  // a rule file may come with a pipeline's repository: its text is not ours
  const bad = join(dir, "newline-key.yml");
  writeFileSync(bad, 'rules:\n  - name: x\n    "a\\ntracer: all rules ok": y\n    "b": z\n');
  const r = await run(["rules", "check", bad], { env });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`${bad}:2: a\\ntracer: all rules ok: unknown key`);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("tracer: "))).toEqual(["tracer: 2 problems:"]);
});

test("check: an invalid regex fails (exit 1) at check, naming file:line and key", async () => {
  const bad = join(dir, "badre.yml");
  writeFileSync(bad, "rules:\n  - name: sorter\n    command_matches_regex: 'a(?=b)'\n");
  const r = await run(["rules", "check", bad], { env });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`${bad}:3: command_matches_regex: not a valid RE2 pattern`);
  // loading it with --rules fails the same way, before any process is classified
  const t = await run(["rules", "test", "--rules", bad, "--", "samtools", "sort"], { env });
  expect(t.code).toBe(1);
  expect(t.stderr).toContain(`${bad}:3: command_matches_regex: not a valid RE2 pattern`);
});

test("check: a missing file is an error, not a crash", async () => {
  const r = await run(["rules", "check", join(dir, "nope.yml")], { env });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`cannot read rule file ${join(dir, "nope.yml")}: no such file or directory`);
  expect(r.stderr).not.toContain("internal error");
  // a directory: said in words too, not as an errno code
  const d = await run(["rules", "check", dir], { env });
  expect(d.code).toBe(1);
  expect(d.stderr).toContain(`cannot read rule file ${dir}: is a directory`);
});

test("test: the embedded defaults name a command line", async () => {
  const r = await run(["rules", "test", "--json", "--", "samtools", "sort", "-o", "x.bam", "y.bam"], { env });
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.status).toBe("matched");
  expect(j.display).toBe("samtools sort");
  expect(j.rule).toMatchObject({ name: "samtools", kind: "tool" });
  expect(j.rule.origin).toStartWith("<embedded defaults>:");
});

test("test: --rules FILE wins over the defaults; what it does not match falls through", async () => {
  const mine = join(dir, "mine.yml");
  const a = await run(["rules", "test", "--rules", mine, "--", "bwa", "mem", "ref.fa"], { env });
  expect(a.code).toBe(0);
  expect(a.stdout).toBe(`aligner mem  (rule "my-aligner", tool, ${mine}:3)\n`);
  const b = await run(["rules", "test", "--rules", mine, "--", "bwa", "index", "ref.fa"], { env });
  expect(b.stdout).toStartWith('bwa index  (rule "bwa", tool, <embedded defaults>:');
});

test("test: the config file rules.yml is read after --rules and before the defaults", async () => {
  const cfgEnv = { ...env, TRACER_CONFIG_DIR: dir };
  writeFileSync(join(dir, "rules.yml"), "rules:\n  - name: cfg-bwa\n    process_name_is: bwa\n");
  const r = await run(["rules", "test", "--json", "--", "bwa", "index", "ref.fa"], { env: cfgEnv });
  expect(JSON.parse(r.stdout).rule.name).toBe("cfg-bwa");
  expect(JSON.parse(r.stdout).files).toEqual([join(dir, "rules.yml"), "<embedded defaults>"]);
  const m = await run(["rules", "test", "--json", "--rules", join(dir, "mine.yml"), "--", "bwa", "mem"], {
    env: cfgEnv,
  });
  expect(JSON.parse(m.stdout).rule.name).toBe("my-aligner");
});

test("test: an excluded or unknown command answers exit 1", async () => {
  const ex = await run(["rules", "test", "--", "samtools", "--version"], { env });
  expect(ex.code).toBe(1);
  expect(ex.stdout).toStartWith("excluded by <embedded defaults>:");
  const un = await run(["rules", "test", "--", "ls", "-l"], { env });
  expect(un.code).toBe(1);
  expect(un.stdout).toBe("no rule matches\n");
});

test("test: no command line is a usage error (exit 2)", async () => {
  const r = await run(["rules", "test"], { env });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("no command line to test");
});
