/**
 * A command line longer than the 64 KiB tracer keeps is marked as cut in every output that shows it:
 * otherwise a payload placed after 64 KiB of padding runs unseen while the report shows a harmless head
 * (found by a newcomer: `bash -c ": <70,000 spaces>; echo HIDDEN-PAYLOAD-RAN"` showed as `bash -c :`).
 * The oracle for the length is the argv itself: /proc/PID/cmdline holds each argument and its NUL.
 */
import { afterAll, expect, test } from "bun:test";
import { BIN, cleanupTemp, isolatedEnv } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("a command line cut at 64 KiB says so, with its whole length, in table, CSV, HTML and JSON", () => {
  const env = isolatedEnv();
  const argv = ["bash", "-c", `: ${" ".repeat(70_000)}; echo HIDDEN-PAYLOAD-RAN`];
  const whole = argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
  const r = Bun.spawnSync([BIN, "run", "--quiet", "--name", "hide", "--", ...argv], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(r.stdout.toString()).toBe("HIDDEN-PAYLOAD-RAN\n");
  const mark = `command line cut: ${whole} bytes in all`;
  const report = (...args: string[]) => {
    const p = Bun.spawnSync([BIN, "report", "hide", ...args], { env, stdout: "pipe", stderr: "pipe" });
    expect(p.exitCode).toBe(0);
    return p.stdout.toString();
  };
  // the process table (its COMMAND column) and the step's command in each format
  expect(report("--processes", "all")).toContain(mark);
  expect(report("--format", "csv")).toContain(mark);
  expect(report("--format", "html")).toContain(mark);
  const json = JSON.parse(report("--format", "json")) as { steps: { command: string }[] };
  expect(json.steps[0]!.command).toEndWith(`…[${mark}]`);
  // the raw rows keep the facts as fields
  const raw = JSON.parse(report("--json")) as { processes: { argvTruncated: boolean; argvBytes: number }[] };
  expect(raw.processes[0]).toMatchObject({ argvTruncated: true, argvBytes: whole });
}, 60_000);

test("the table keeps the note however narrow its COMMAND column, with a padding of no spaces", () => {
  // a table collapses whitespace: a padding of spaces shrank to one and the note fitted anyway; one of
  // letters is cut for width, and the note has to survive that cut (found by an attack)
  const env = isolatedEnv();
  const argv = ["bash", "-c", "echo harmless >/dev/null", "a".repeat(70_000)];
  const whole = argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
  expect(Bun.spawnSync([BIN, "run", "--quiet", "--name", "hide2", "--", ...argv], { env }).exitCode).toBe(0);
  // the process table's last row (a note of the columns a narrow table left out may follow it)
  const last = (...args: string[]) => {
    const out = Bun.spawnSync([BIN, "report", "hide2", ...args], { env, stdout: "pipe" })
      .stdout.toString()
      .trimEnd();
    const at = out.lastIndexOf("\nnot shown at this width:");
    return (at > out.lastIndexOf("\nprocesses\n") ? out.slice(0, at) : out).split("\n").at(-1)!;
  };
  expect(last("--width", "300")).toEndWith(`…[command line cut: ${whole} bytes in all]`);
  expect(last("--processes", "all", "--width", "300")).toEndWith(
    `…[command line cut: ${whole} bytes in all]`,
  );
  // narrower: a shorter note, by how much room the COMMAND column has (it depends on the other columns)
  const note = new RegExp(`…\\[(command line cut: ${whole} bytes in all|cut: ${whole} B|cut)\\]$`);
  for (const w of ["140", "120", "110", "100"]) expect(last("--width", w)).toMatch(note);
  expect(last()).toMatch(/…\[(command line )?cut/); // the default width (not a terminal: 160)
});
