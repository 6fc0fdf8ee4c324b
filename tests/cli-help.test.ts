/**
 * What --help looks like (citty renders it; src/cli/_help.ts fixes its layout): rows left-aligned with
 * their descriptions in one column, on a terminal (colour codes) as into a pipe; a command's own
 * description without the usage its USAGE line already shows; the global flags in every command's
 * help; `tracer help [COMMAND...]` and `tracer version` as the flags, without being commands.
 */
import { afterAll, describe, expect, test } from "bun:test";

import pkg from "../package.json" with { type: "json" };
import { commands } from "../src/cli/index.ts";
import { cleanupTemp, isolatedEnv, run } from "./helpers/harness.ts";

afterAll(cleanupTemp);
const env = isolatedEnv();
// colour codes on: --color always, and none of the variables that turn citty's own colours off
const { NO_COLOR: _n, TEST: _t, CI: _c, ...colourEnv } = env;
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** every command line whose --help is checked: the root, each command, each subcommand */
const PAGES = [
  [],
  ...Object.keys(commands)
    .filter((c) => !c.startsWith("_"))
    .map((c) => [c]),
  ["runs", "list"],
  ["runs", "rm"],
  ["runs", "prune"],
  ["rules", "check"],
  ["rules", "test"],
  ["net", "check"],
];

/** The rows of each block (ARGUMENTS, OPTIONS, GLOBAL OPTIONS, COMMANDS) of a help text. */
function blocks(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^[A-Z][A-Z ]+$/.test(lines[i]!) || lines[i] === "USAGE") continue;
    expect(lines[i + 1]).toBe("");
    const rows: string[] = [];
    for (i += 2; i < lines.length && lines[i] !== ""; i++) rows.push(lines[i]!);
    out.set(lines[i - rows.length - 2]!, rows);
  }
  return out;
}

describe("--help's rows", () => {
  test("are left-aligned: names from column 2; the descriptions of options in one column, of commands in one", async () => {
    for (const words of PAGES) {
      const r = await run([...words, "--help"], { env });
      expect(r.code, words.join(" ")).toBe(0);
      const starts = { options: new Set<number>(), commands: new Set<number>() };
      for (const [head, rows] of blocks(r.stdout)) {
        expect(rows.length, `${words.join(" ")}: ${head}`).toBeGreaterThan(0);
        for (const row of rows) {
          // two spaces, the name (no two spaces in a row), at least two spaces, the description
          const m = /^ {2}(\S(?:[^ ]| (?! ))*)( {2,})\S/.exec(row);
          expect(m, row).not.toBeNull();
          starts[head === "COMMANDS" ? "commands" : "options"].add(2 + m![1]!.length + m![2]!.length);
        }
      }
      expect(starts.options.size, words.join(" ")).toBeLessThanOrEqual(1);
      expect(starts.commands.size, words.join(" ")).toBeLessThanOrEqual(1);
      expect(r.stdout.split("\n").filter((l) => l !== l.trimEnd())).toEqual([]);
    }
  });

  test("with colour codes (a terminal, --color always) the layout is the piped one: codes take no width", async () => {
    for (const words of [[], ["report"], ["runs"], ["run"]]) {
      const piped = await run([...words, "--help"], { env });
      const coloured = await run(["--color", "always", ...words, "--help"], { env: colourEnv });
      expect(coloured.code).toBe(0);
      // the names are coloured, and start in column 2 all the same
      expect(coloured.stdout).toMatch(/^ {2}\x1b\[36m--/m);
      expect(coloured.stdout).not.toMatch(/^ {3,}\x1b\[36m/m);
      expect(plain(coloured.stdout)).toBe(piped.stdout);
    }
  });

  test("tracer report --help, piped", async () => {
    const r = await run(["report", "--help"], { env });
    expect(r.stdout).toContain(
      [
        "ARGUMENTS",
        "",
        "  RUN=<RUN>                      Run id, id prefix or name",
        "",
        "OPTIONS",
        "",
        "  --json                         Print machine-readable JSON (stable, see docs/CLI.md)",
        "  --format=<FORMAT>              Output format: table | json | csv | nextflow | html",
        "  -o, --output=<FILE>            Write the report to FILE instead of stdout (- for stdout)",
      ].join("\n"),
    );
    expect(r.stdout).toEndWith(
      [
        "GLOBAL OPTIONS",
        "",
        "  --color=<auto|always|never>    Colour: auto (a terminal without NO_COLOR), always, never",
        "  --verbose                      Print an error's causes and stack",
        "",
        "",
      ].join("\n"),
    );
  });
});

describe("descriptions and names", () => {
  test("a command that runs CMD: its description without the usage its USAGE line shows", async () => {
    const v = pkg.version;
    for (const [words, first, usage] of [
      [
        ["run"],
        `Run CMD as an init, record its whole process tree, exit with its status (tracer run v${v})`,
        "USAGE tracer run [OPTIONS] -- CMD ARGS...",
      ],
      [
        ["rules", "test"],
        `Show which rule names a command line (tracer rules test v${v})`,
        "USAGE tracer rules test [OPTIONS] -- CMD ARGS...",
      ],
    ] as const) {
      const lines = (await run([...words, "--help"], { env })).stdout.split("\n");
      expect(lines[0]).toBe(first);
      expect(lines[2]).toBe(usage);
    }
    // the lists keep it: there no USAGE line says where CMD goes
    expect((await run(["--help"], { env })).stdout).toMatch(
      /^ {2}run +Run CMD as an init, .*: tracer run \[OPTIONS\] -- CMD ARGS\.\.\.$/m,
    );
    expect((await run(["rules", "--help"], { env })).stdout).toMatch(
      /^ {2}test +Show which rule names a command line: tracer rules test \[--rules FILE\] -- CMD ARGS\.\.\.$/m,
    );
  });

  test("a subcommand is named in full: tracer runs list, not runs list", async () => {
    const r = await run(["runs", "list", "--help"], { env });
    expect(r.stdout.split("\n")[0]).toEndWith(`(tracer runs list v${pkg.version})`);
    expect(r.stdout).toContain("\nUSAGE tracer runs list [OPTIONS]\n");
  });
});

describe("global options", () => {
  test("every command's --help lists --color and --verbose under GLOBAL OPTIONS", async () => {
    for (const words of PAGES.filter((w) => w.length > 0)) {
      const r = await run([...words, "--help"], { env });
      const g = blocks(r.stdout).get("GLOBAL OPTIONS");
      expect(g, words.join(" ")).toBeDefined();
      expect(g!.map((row) => row.trim().split(/ {2,}/))).toEqual([
        ["--color=<auto|always|never>", "Colour: auto (a terminal without NO_COLOR), always, never"],
        ["--verbose", "Print an error's causes and stack"],
      ]);
    }
    // the root's own options are these: listed once, as OPTIONS
    const top = blocks((await run(["--help"], { env })).stdout);
    expect(top.has("GLOBAL OPTIONS")).toBe(false);
    expect(top.get("OPTIONS")!.join("\n")).toContain("--verbose");
  });
});

describe("tracer help, tracer version", () => {
  test("tracer help [COMMAND...] prints what --help prints", async () => {
    for (const words of [[], ["report"], ["runs"], ["runs", "list"], ["rules", "test"], ["run"]]) {
      const want = await run([...words, "--help"], { env });
      const got = await run(["help", ...words], { env });
      expect(got.code, words.join(" ")).toBe(0);
      expect(got.stderr).toBe("");
      expect(got.stdout).toBe(want.stdout);
    }
    // options after help are ignored, as --help ignores them
    expect((await run(["help", "report", "--json"], { env })).stdout).toBe(
      (await run(["report", "--help"], { env })).stdout,
    );
    // global flags are taken out as anywhere else
    const c = await run(["--color", "always", "help", "report"], { env: colourEnv });
    expect(c.stdout).toContain("\x1b[36m");
  });

  test("tracer version prints what --version prints", async () => {
    const r = await run(["version"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
    expect(r.stdout).toBe((await run(["--version"], { env })).stdout);
    const extra = await run(["version", "x"], { env });
    expect(extra.code).toBe(2);
    expect(extra.stderr).toBe('tracer: unexpected argument "x" (see --help)\n');
  });

  test("help with an unknown command is the usual usage error (exit 2)", async () => {
    const want = await run(["nosuch"], { env });
    expect(want.code).toBe(2);
    for (const args of [
      ["help", "nosuch"],
      ["help", "nosuch", "--help"],
    ]) {
      const r = await run(args, { env });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(want.stderr);
    }
    expect(want.stderr).toStartWith('tracer: unknown command "nosuch" (commands: init, info, ');
    // names an object inherits are no commands: `help constructor` printed a page and exited 0,
    // `help valueOf` was an internal error (attack)
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"])
      for (const args of [["help", name], [name], ["runs", name]]) {
        const r = await run(args, { env });
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr).toContain(`unknown command "${name}"`);
      }
    const sub = await run(["help", "runs", "nosuch"], { env });
    expect(sub.code).toBe(2);
    expect(sub.stderr).toBe('tracer: unknown command "nosuch" (commands: list, rm, prune)\n');
    const leaf = await run(["help", "report", "nosuch"], { env });
    expect(leaf.code).toBe(2);
    expect(leaf.stderr).toBe('tracer: unknown command "nosuch" (tracer report has no commands)\n');
    const json = await run(["help", "nosuch", "--json"], { env });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error.code).toBe("E_USAGE");
  });

  test("help and version are no commands: not in the table, not in the lists", async () => {
    expect(Object.keys(commands)).not.toContain("help");
    expect(Object.keys(commands)).not.toContain("version");
    const top = blocks((await run(["--help"], { env })).stdout).get("COMMANDS")!;
    expect(top.map((row) => row.trim().split(" ")[0])).not.toContain("help");
    expect((await run(["nosuch"], { env })).stderr).not.toMatch(/help|version/);
  });
});
