/** The strings a regex's every match must hold (src/rules/_regex.ts): texts without them skip the engine, same verdicts. */
import { expect, test } from "bun:test";
import { RE2JS } from "re2js";
import { compileRegex, requiredStrings } from "../../src/rules/_regex.ts";
import { matchProcess, parseRuleFile } from "../../src/rules/index.ts";

test("required strings are read only where a match cannot avoid them", () => {
  expect(requiredStrings("(^|[\\s/])\\.command\\.(run|sh)(\\s|$)")).toEqual([".command."]);
  expect(requiredStrings("^\\S+\\s+(\\S*/)?nextflow(\\s|$)")).toEqual(["nextflow"]);
  expect(requiredStrings("/\\.(pyenv|rbenv|nodenv)/(libexec|shims)/")).toEqual(["pyenv", "rbenv", "nodenv"]);
  expect(requiredStrings("ab?c")).toEqual(["a"]); // b is optional: "ac" matches
  expect(requiredStrings("x(ab)*y{0,3}")).toEqual(["x"]);
  expect(requiredStrings("a|")).toEqual([]); // the empty branch matches anything
  expect(requiredStrings("(?i)abc")).toEqual([]); // flags: not read
  expect(requiredStrings("\\x41bc")).toEqual([]); // an escape it does not know: nothing
  expect(requiredStrings("[a]]bc")).toEqual(["]bc"]);
});

test("a prefiltered regex gives the engine's verdict on every text", () => {
  const patterns = [
    "(^|[\\s/])\\.command\\.(run|sh)(\\s|$)",
    "/\\.(pyenv|rbenv|nodenv)/(libexec|shims)/",
    "^\\S+\\s+(-\\S+\\s+)*((\\S*/)?snakemake|-m\\s+snakemake)(\\s|$)",
    "ab?c",
    "a+b{2}c*d",
    "x(ab|cd)+y",
    "[]a]b",
  ];
  const texts = [
    "bash .command.run",
    "bash work/ab/.command.sh x",
    "/root/.pyenv/shims/python3 x",
    "/x/.rbenv/libexec/rbenv",
    "python3 -u /usr/bin/snakemake -c1",
    "python -m snakemake",
    "ac",
    "abc",
    "abbd",
    "aabbd",
    "xaby",
    "xabcdy",
    "xy",
    "]b",
    "ab",
    "",
    "nothing here",
  ];
  for (const p of patterns) {
    const re = RE2JS.compile(p);
    const t = compileRegex(p);
    if (typeof t === "string") throw new Error(t);
    for (const s of texts) expect([p, s, t(s)]).toEqual([p, s, re.test(s)]);
  }
});

test("a command_matches_regex rule matches exactly the command lines the engine matches", () => {
  const patterns = ["\\.command\\.(run|sh)$", "^\\S+\\s+(\\S*/)?nextflow(\\s|$)", "a b+c", "(x|y)z"];
  const argvs = [
    ["bash", ".command.run"],
    ["bash", "work/.command.sh"],
    ["bash", ".command", "run"],
    ["java", "-jar", "/opt/nextflow", "run"],
    ["sh", "nextflow"],
    ["nextflow"],
    ["a", "bbc"],
    ["ab", "bc"],
    ["w", "xz"],
    ["yz"],
    ["z"],
  ];
  for (const p of patterns) {
    const set = parseRuleFile(`rules:\n  - name: hit\n    command_matches_regex: '${p}'\n`, "t.yml");
    const re = RE2JS.compile(p);
    for (const argv of argvs) {
      const m = matchProcess({ rules: set.rules, exclude: [], files: [] }, { argv, comm: argv[0]! });
      expect([p, argv, m?.rule.name ?? null]).toEqual([p, argv, re.test(argv.join(" ")) ? "hit" : null]);
    }
  }
});
