/**
 * Every JSON tracer prints or writes is safe to `cat` (src/core/json.ts): argv holding a bidi override,
 * line/paragraph separators, C1 controls, DEL and zero-width characters is written as \uXXXX escapes,
 * and JSON.parse gives back the exact argv. Also `report --json` with -o (safe-write) and --format.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { lstatSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { escapeJson } from "../../src/core/json.ts";
import { cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

/** an argument built to reorder or hide text in a terminal showing the JSON */
const ARG =
  "a\u202eb\u2028c\u2029d\u0085e\u009bf\u200bg\u007fh\u2066i\ufeffj\u{e0041}k\uffffl\u3164m\u034fn\ufe0fo\u{e0100}p" +
  // spaces that pass for U+0020 or for nothing, and stacked combining marks (attack)
  "q\u00a0r\u3000s\u2800t\u0301\u0301\u0301\u0301\u0301\u0301u";
/**
 * raw characters that must not reach the output: bidi, separators, C1, DEL, zero-width, BOM, tags, a
 * noncharacter (a YAML reader, which takes JSON too, refuses a file holding U+FFFF), and invisible
 * default-ignorables (Hangul filler, combining grapheme joiner, variation selectors)
 */
const RAW =
  /[\u202a-\u202e\u2066-\u2069\u2028\u2029\u0080-\u009f\u007f\u200b-\u200f\ufeff\ufffe\uffff\u3164\u00a0\u3000\u2800]|\p{Default_Ignorable_Code_Point}|\p{M}{4}/u;

const env = isolatedEnv();
let dir: string;
beforeAll(async () => {
  await ensureBuilt();
  dir = tempDir();
  const r = await run(["run", "--quiet", "--name", "esc", "--", "/bin/echo", ARG], { env });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(cleanupTemp);

const echoArgv = (processes: { argv: string[] | null }[]) =>
  processes.find((p) => p.argv?.[0] === "/bin/echo")?.argv;

test("runs --json: no raw bidi/separator/C1 character, and the argv parses back exact", async () => {
  const r = await run(["runs", "--json"], { env });
  expect(r.code).toBe(0);
  expect(RAW.test(r.stdout)).toBe(false);
  expect(r.stdout).toContain("a\\u202eb\\u2028c\\u2029d\\u0085e\\u009bf\\u200bg\\u007fh");
  expect(JSON.parse(r.stdout)[0].command).toEqual(["/bin/echo", ARG]);
});

test("report --json and report --format json: escaped bytes, exact values", async () => {
  const raw = await run(["report", "esc", "--json"], { env });
  expect(raw.code).toBe(0);
  expect(RAW.test(raw.stdout)).toBe(false);
  const parsed = JSON.parse(raw.stdout);
  expect(parsed.run.command).toEqual(["/bin/echo", ARG]);
  expect(echoArgv(parsed.processes)).toEqual(["/bin/echo", ARG]);

  const steps = await run(["report", "esc", "--format", "json"], { env });
  expect(steps.code).toBe(0);
  expect(RAW.test(steps.stdout)).toBe(false);
  const report = JSON.parse(steps.stdout);
  expect(report.run.command).toEqual(["/bin/echo", ARG]);
  expect(report.steps.some((s: { command: string }) => s.command === `/bin/echo ${ARG}`)).toBe(true);
});

test("a file written with --format json -o is escaped the same way", async () => {
  const out = join(dir, "steps.json");
  const r = await run(["report", "esc", "--format", "json", "-o", out], { env });
  expect(r.code, r.stderr).toBe(0);
  const text = readFileSync(out, "utf8");
  expect(RAW.test(text)).toBe(false);
  expect(JSON.parse(text).run.command).toEqual(["/bin/echo", ARG]);
});

test("an error under --json that quotes a hostile run name is escaped too", async () => {
  const r = await run(["report", "--json", `no\u202esuch`], { env });
  expect(r.code).toBe(1); // E_RUN_NOT_FOUND
  expect(RAW.test(r.stdout)).toBe(false);
  expect(JSON.parse(r.stdout).error.message).toContain("no\u202esuch");
});

test("report --json -o FILE writes the raw JSON through safe-write, stdout stays empty", async () => {
  const out = join(dir, "raw.json");
  const r = await run(["report", "esc", "--json", "-o", out], { env });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe("");
  expect(r.stderr).toContain(`to ${out}`);
  const text = readFileSync(out, "utf8");
  expect(RAW.test(text)).toBe(false);
  expect(echoArgv(JSON.parse(text).processes)).toEqual(["/bin/echo", ARG]);
  // a planted symlink is refused (exit 3), its target untouched
  const victim = join(dir, "victim");
  writeFileSync(victim, "precious\n");
  const link = join(dir, "link.json");
  symlinkSync(victim, link);
  const refused = await run(["report", "esc", "--json", "-o", link], { env });
  expect(refused.code).toBe(3);
  expect(readFileSync(victim, "utf8")).toBe("precious\n");
  expect(lstatSync(link).isSymbolicLink()).toBe(true);
  expect(readdirSync(dir).filter((f) => f.startsWith("."))).toEqual([]); // no temp file left
});

test("report --json with --format is a usage error (exit 2), not a silently ignored flag", async () => {
  for (const format of ["csv", "json", "table"]) {
    const r = await run(["report", "esc", "--json", "--format", format], { env });
    expect(r.code).toBe(2);
    const e = JSON.parse(r.stdout).error;
    expect(e.code).toBe("E_USAGE");
    expect(e.message).toContain(`--format ${format}`);
    expect(e.message).toContain("exclude each other");
  }
});

test("report --json with a step-report option (--price-per-hour, --rules, --processes, --depth, --width) is a usage error", async () => {
  for (const [opt, value] of [
    ["--price-per-hour", "2.5"],
    ["--rules", "/nonexistent.yaml"],
    ["--processes", "all"],
    ["--depth", "2"],
    ["--width", "80"],
  ] as const) {
    const r = await run(["report", "esc", "--json", opt, value], { env });
    expect(r.code).toBe(2);
    const e = JSON.parse(r.stdout).error;
    expect(e.code).toBe("E_USAGE");
    expect(e.message).toBe(
      `--json prints the raw run and its processes: ${opt} applies to the step report only`,
    );
  }
  const two = await run(["report", "esc", "--json", "--depth", "2", "--width", "9"], { env });
  expect(JSON.parse(two.stdout).error.message).toContain("--depth, --width apply to the step report only");
});

test("escapeJson leaves the parsed value unchanged: every BMP character, the tags, an emoji", () => {
  const all: string[] = [];
  for (let cp = 0; cp <= 0xffff; cp++) if (cp < 0xd800 || cp > 0xdfff) all.push(String.fromCodePoint(cp));
  for (let cp = 0xe0000; cp <= 0xe007f; cp++) all.push(String.fromCodePoint(cp));
  all.push("\u{1f600}", "\udcff"); // an emoji (left as it is) and a lone surrogate (JSON.stringify's escape)
  const value = { [all.join("")]: all };
  const text = escapeJson(JSON.stringify(value, null, 2));
  expect(JSON.parse(text)).toEqual(value);
  expect(RAW.test(text)).toBe(false);
});
