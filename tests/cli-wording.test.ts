/**
 * What the compiled binary says: counts in sentences are singular for one ("1 process", not
 * "1 processes"), numeric options are checked (finite, in range, exit 2), and a refused name is
 * quoted sanitised for the terminal but with its printable characters as themselves.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "./helpers/harness.ts";

const env = isolatedEnv();
let summary: string;
beforeAll(async () => {
  await ensureBuilt();
  const r = await run(["run", "--name", "one", "--", "true"], { env });
  expect(r.code, r.stderr).toBe(0);
  summary = r.stderr;
});
afterAll(cleanupTemp);

describe("counts", () => {
  test("the summary line of a one-process run says '1 process'", () => {
    expect(summary).toMatch(/^tracer: run one: 1 process, [\d.]+s, exit 0, /m);
  });

  test("the report's totals line says 'from 1 process'", async () => {
    const r = await run(["report", "one"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^steps {5}1 \(0 failed\) from 1 process$/m);
    expect(r.stdout).not.toContain("1 processes");
  });

  test("a run of two processes keeps the plural", async () => {
    const r = await run(["run", "--name", "two", "--", "sh", "-c", "/bin/true; /bin/true"], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^tracer: run two: \d+ processes, /m);
  });

  test("rules check: '1 rule', runs prune --dry-run: '1 run (1 process)'", async () => {
    const file = join(tempDir(), "mine.yml");
    writeFileSync(file, "version: 1\nrules:\n  - name: mytool\n    process_name_is: mytool\n");
    const rules = await run(["rules", "check", file], { env });
    expect(rules.code, rules.stderr).toBe(0);
    expect(rules.stdout).toContain("ok, 1 rule, 0 exclusions");
    const e = isolatedEnv();
    expect((await run(["run", "--quiet", "--name", "solo", "--", "true"], { env: e })).code).toBe(0);
    const prune = await run(["runs", "prune", "--keep", "0", "--dry-run"], { env: e });
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toStartWith("would remove 1 run (1 process);");
  });
});

describe("numeric options", () => {
  test("--price-per-hour must be finite, ≥ 0 and at most 1,000,000 (exit 2)", async () => {
    for (const v of ["1e308", "1000001", "Infinity", "-1", "", "0x10", "NaN", "1e400"]) {
      const r = await run(["report", "one", "--price-per-hour", v], { env });
      expect({ v, code: r.code }).toEqual({ v, code: 2 });
      expect(r.stderr).toContain(`tracer: --price-per-hour must be a number from 0 to 1000000, got "${v}"`);
      expect(r.stdout).toBe("");
    }
    for (const v of ["1000000", "0", "2.5", "1e3"]) {
      const r = await run(["report", "one", "--price-per-hour", v], { env });
      expect({ v, code: r.code }).toEqual({ v, code: 0 });
      expect(r.stdout).toMatch(/^cost {6}\d+\.\d{4} at \d+(\.\d+)? per hour/m);
    }
  });

  test("--limit, --last, -n, diff percentages: a number in range, else exit 2 (1e308 was an internal error)", async () => {
    const cases: [string[], string][] = [
      [["runs", "--limit", "1e308"], '--limit must be a whole number ≥ 1, got "1e308"'],
      [["runs", "--limit", "0"], '--limit must be a whole number ≥ 1, got "0"'],
      [["advise", "--last", "1e308"], '--last must be a whole number ≥ 1, got "1e308"'],
      [["logs", "-n", "1e308"], '-n must be a whole number ≥ 0, got "1e308"'],
      [
        ["diff", "one", "one", "--threshold", "1e308"],
        '--threshold must be a percentage from 0 to 1000000, got "1e308"',
      ],
      [
        ["diff", "one", "one", "--fail-on-regression", "-5"],
        "--fail-on-regression must be a percentage from 0",
      ],
    ];
    for (const [args, msg] of cases) {
      const r = await run(args, { env });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(msg);
    }
    const ok = await run(["runs", "--limit", "1"], { env });
    expect(ok.code).toBe(0);
    // the header and the newest run on stdout; the line counting the older runs left out on stderr
    const lines = ok.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(ok.stderr.trim()).toMatch(
      /^… \d+ older runs? not shown \(tracer runs --limit \d+ lists every run\)$/,
    );
  });

  test("run --interval and --grace: plain decimal seconds in range (hex and blank were accepted)", async () => {
    const cases: [string[], string][] = [
      [["--interval", "0x10"], '--interval must be a number of seconds from 0.05 to 3600, got "0x10"'],
      [["--interval", ""], '--interval must be a number of seconds from 0.05 to 3600, got ""'],
      [["--interval", "0"], '--interval must be a number of seconds from 0.05 to 3600, got "0"'],
      [["--kill-leftovers", "--grace", ""], '--grace must be a number of seconds from 0 to 86400, got ""'],
      [
        ["--kill-leftovers", "--grace", "0x10"],
        '--grace must be a number of seconds from 0 to 86400, got "0x10"',
      ],
      [["--kill-leftovers", "--grace", "Infinity"], "--grace must be a number of seconds from 0 to 86400"],
    ];
    for (const [flags, msg] of cases) {
      const r = await run(["run", "--quiet", ...flags, "--", "true"], { env });
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 });
      expect(r.stderr).toContain(msg);
    }
    const ok = await run(
      ["run", "--quiet", "--interval", "0.5", "--kill-leftovers", "--grace", "1e0", "--", "true"],
      {
        env,
      },
    );
    expect(ok.code).toBe(0);
  });
});

describe("a refused name", () => {
  test("is quoted with printable ASCII as itself, invisible characters escaped", async () => {
    const r = await run(["run", "--name", "a#b/c%d", "--", "true"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('got "a#b/c%d"');
    const bidi = await run(["run", "--pipeline", "x#\u202ey\x1b[2J", "--", "true"], { env });
    expect(bidi.code).toBe(2);
    expect(bidi.stderr).toContain('got "x#\\u{202e}y\\x1b[2J"');
    expect(bidi.stderr).not.toMatch(/[\x1b\u202e]/);
  });
});

test("tracer --help fits 160 columns: one long description padded every command's row past 280", async () => {
  const r = await run(["--help"], { env });
  expect(r.code).toBe(0);
  const widest = Math.max(...r.stdout.split("\n").map((l) => l.length));
  expect(widest).toBeLessThanOrEqual(160);
  expect(r.stdout).toContain("tracer run [OPTIONS] -- CMD ARGS...");
});
