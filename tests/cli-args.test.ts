/** The strict argument parser every command runs through (src/cli/_args.ts). */
import { expect, test } from "bun:test";
import type { ArgsDef } from "citty";
import { parseArgv } from "../src/cli/_args.ts";
import { commandWord } from "../src/cli/_run.ts";

const defs = {
  file: { type: "positional", required: false },
  lines: { type: "string", alias: "n", default: "50" },
  follow: { type: "boolean", alias: "f" },
  json: { type: "boolean" },
  "pubkey-string": { type: "string" },
} satisfies ArgsDef;

// citty's ParsedArgs type is too narrow for toEqual; the object itself is plain
const parse = (tokens: string[]) => ({ ...parseArgv(defs, tokens) }) as Record<string, unknown>;

const usage = (tokens: string[], d: ArgsDef = defs) => {
  try {
    parseArgv(d, tokens);
  } catch (e) {
    return `${(e as { exitCode: number }).exitCode}: ${(e as Error).message}`;
  }
  return "parsed";
};

test("values, aliases, defaults and switches come out as citty's commands read them", () => {
  expect(parse([])).toEqual({ _: [], lines: "50" });
  const a = parse(["x.bin", "-n", "7", "-f", "--pubkey-string=RW=="]);
  expect(a).toEqual({ _: ["x.bin"], file: "x.bin", lines: "7", follow: true, "pubkey-string": "RW==" });
  expect(parse(["--lines=-3", "--no-follow", "--json=false"])).toMatchObject({
    lines: "-3",
    follow: false,
    json: false,
  });
  expect(parse(["--json=true", "--lines", "1", "--lines", "2"])).toMatchObject({
    json: true,
    lines: "2",
  });
  // `-` and negative numbers are values, not flags
  expect(parse(["-"]).file).toBe("-");
  expect(parse(["-5"]).file).toBe("-5");
});

test("everything after -- is the command's, never parsed", () => {
  const a = parse(["--json", "--", "sh", "-c", "--frob", "x"]);
  expect(a).toMatchObject({ json: true, _: ["sh", "-c", "--frob", "x"] });
  expect(a.file).toBeUndefined();
});

test("each mistake is a usage error (exit 2) that names it", () => {
  expect(usage(["--forse"])).toBe('2: unknown option "--forse" (see --help)');
  expect(usage(["--forse=1"])).toBe('2: unknown option "--forse" (see --help)');
  expect(usage(["--no-lines"])).toBe('2: unknown option "--no-lines" (see --help)');
  expect(usage(["-x"])).toBe('2: unknown option "-x" (see --help)');
  expect(usage(["--lines"])).toBe('2: option "--lines" needs a value');
  expect(usage(["a", "b"])).toBe('2: unexpected argument "b" (see --help)');
  expect(usage(["--json=yes"])).toBe('2: option "--json" is a switch: give it alone, or =true / =false');
  const required = {
    url: { type: "positional", valueHint: "URL" },
    key: { type: "string", required: true },
  } satisfies ArgsDef;
  expect(usage(["--key", "k"], required)).toBe("2: missing URL (see --help)");
  expect(usage(["https://x"], required)).toBe('2: option "--key" is required (see --help)');
  expect(usage(["https://x", "--key", "k"], required)).toBe("parsed");
});

test("the command word is found after the global flags (src/main.ts picks run's JIT policy by it)", () => {
  expect(commandWord(["run", "--", "true"])).toBe("run");
  expect(commandWord(["--verbose", "--color", "never", "run", "--quiet", "--", "true"])).toBe("run");
  expect(commandWord(["--color=always", "report"])).toBe("report");
  // after `--` nothing is the command's
  expect(commandWord(["--verbose", "--", "run"])).toBeUndefined();
  expect(commandWord([])).toBeUndefined();
});
