/** The rules engine in-process: every condition key, the combinators, templates, precedence, exclusions, regex safety. */
import { describe, expect, test } from "bun:test";
import { TracerError } from "../../src/errors.ts";
import defaultsText from "../../src/rules/defaults.yml" with { type: "text" };
import { classify, matchProcess, parseRuleFile } from "../../src/rules/index.ts";
import type { RuleSet } from "../../src/rules/index.ts";

const setOf = (...texts: string[]): RuleSet => {
  const set: RuleSet = { rules: [], exclude: [], files: [] };
  texts.forEach((t, i) => {
    const p = parseRuleFile(t, `f${i}.yml`);
    set.rules.push(...p.rules);
    set.exclude.push(...p.exclude);
    set.files.push(`f${i}.yml`);
  });
  return set;
};
/** one rule named "hit" with the given condition lines (YAML, indented under the rule) */
const one = (cond: string) => setOf(`rules:\n  - name: hit\n${cond.replace(/^/gm, "    ")}\n`);
const hits = (set: RuleSet, cmd: string | string[], comm?: string) =>
  matchProcess(set, { argv: typeof cmd === "string" ? cmd.split(" ") : cmd, comm })?.rule.name === "hit";

const problemOf = (text: string, file = "user.yml"): string => {
  try {
    parseRuleFile(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(TracerError);
    return (e as TracerError).message;
  }
  throw new Error("expected the rule file to be refused");
};

describe("condition keys", () => {
  test("process_name_is: basename of argv[0] or comm, any of a list", () => {
    const s = one("process_name_is: [bwa, bwa-mem2]");
    expect(hits(s, "/usr/bin/bwa mem")).toBe(true);
    expect(hits(s, "bwa-mem2 mem")).toBe(true);
    expect(hits(s, ["/usr/bin/perl", "/usr/bin/x"], "bwa")).toBe(true);
    expect(hits(s, "bwasw x")).toBe(false);
  });
  test("process_name_contains", () => {
    const s = one("process_name_contains: python");
    expect(hits(s, "/usr/bin/python3.11 x.py")).toBe(true);
    expect(hits(s, "perl x.pl")).toBe(false);
  });
  test("command_contains (all of a list) and command_not_contains (none of a list)", () => {
    const s = one("command_contains: [mem, ref.fa]");
    expect(hits(s, "bwa mem ref.fa r.fq")).toBe(true);
    expect(hits(s, "bwa mem other.fa r.fq")).toBe(false);
    const n = one("process_name_is: bwa\ncommand_not_contains: [index, aln]");
    expect(hits(n, "bwa mem ref.fa")).toBe(true);
    expect(hits(n, "bwa index ref.fa")).toBe(false);
    expect(hits(n, "bwa aln ref.fa")).toBe(false);
  });
  test("command_matches_regex (RE2 syntax, searched anywhere in the command line)", () => {
    const s = one("command_matches_regex: '\\s-t\\s+\\d+\\b'");
    expect(hits(s, "bwa mem -t 8 ref.fa")).toBe(true);
    expect(hits(s, "bwa mem -t x ref.fa")).toBe(false);
  });
  test("args_contain (every listed arg) and args_not_contain (none of them) compare whole arguments", () => {
    const s = one("args_contain: [-o, out.bam]");
    expect(hits(s, "samtools sort -o out.bam in.bam")).toBe(true);
    expect(hits(s, "samtools sort -o other.bam in.bam")).toBe(false);
    expect(hits(s, "samtools sort -oout.bam in.bam")).toBe(false);
    const n = one("process_name_is: samtools\nargs_not_contain: [-h, --help]");
    expect(hits(n, "samtools sort x")).toBe(true);
    expect(hits(n, "samtools sort --help")).toBe(false);
  });
  test("min_args counts arguments after the program", () => {
    const s = one("min_args: 2");
    expect(hits(s, "bwa mem ref.fa")).toBe(true);
    expect(hits(s, "bwa mem")).toBe(false);
  });
  test("first_arg_is", () => {
    const s = one("first_arg_is: [mem, aln]");
    expect(hits(s, "bwa aln ref")).toBe(true);
    expect(hits(s, "bwa -t 2 mem")).toBe(false);
  });
  test("subcommand_is_one_of: the first argument that is not an option", () => {
    const s = one("subcommand_is_one_of: [sort, index]");
    expect(hits(s, "samtools sort -o x")).toBe(true);
    expect(hits(s, "samtools -v index x")).toBe(true);
    expect(hits(s, "samtools view x")).toBe(false);
  });
  test("java: jar (with * globs), class, subcommand", () => {
    const jar = one("java: { jar: 'picard*.jar', subcommand: [MarkDuplicates, SortSam] }");
    expect(hits(jar, "java -Xmx4g -jar /opt/picard-2.27.jar MarkDuplicates I=a O=b")).toBe(true);
    expect(hits(jar, "java -jar /opt/picard.jar CollectHsMetrics")).toBe(false);
    expect(hits(jar, "java -jar /opt/gatk.jar MarkDuplicates")).toBe(false);
    expect(hits(jar, "notjava -jar picard.jar MarkDuplicates")).toBe(false);
    const cls = one("java: { class: picard.cmdline.PicardCommandLine }");
    expect(hits(cls, "java -cp /a/b.jar:/c picard.cmdline.PicardCommandLine SortSam")).toBe(true);
    expect(hits(cls, "java -cp picard.cmdline.PicardCommandLine other.Main")).toBe(false);
  });
});

describe("combinators", () => {
  test("keys of one rule are ANDed", () => {
    const s = one("process_name_is: bwa\nfirst_arg_is: mem");
    expect(hits(s, "bwa mem x")).toBe(true);
    expect(hits(s, "bwa aln x")).toBe(false);
    expect(hits(s, "bowtie2 mem x")).toBe(false);
  });
  test("and / or / not nest", () => {
    const s = one(
      [
        "or:",
        "  - and: [{ process_name_is: bwa }, { first_arg_is: mem }]",
        "  - and:",
        "      - process_name_is: samtools",
        "      - not: { subcommand_is_one_of: [view, index] }",
      ].join("\n"),
    );
    expect(hits(s, "bwa mem x")).toBe(true);
    expect(hits(s, "bwa index x")).toBe(false);
    expect(hits(s, "samtools sort x")).toBe(true);
    expect(hits(s, "samtools view x")).toBe(false);
    expect(hits(s, "samtools index x")).toBe(false);
  });
});

describe("display_name templates", () => {
  const s = setOf(
    [
      "rules:",
      "  - name: picard",
      '    display_name: "picard {subcommand} ({jar})"',
      "    java: { jar: 'picard*.jar' }",
      "  - name: py",
      '    display_name: "{script}: {arg2}"',
      "    process_name_contains: python",
      "  - name: bwa",
      '    display_name: "{tool} {subcommand}"',
      "    process_name_is: bwa",
    ].join("\n"),
  );
  const shown = (cmd: string) => matchProcess(s, { argv: cmd.split(" ") })?.display;
  test("fills placeholders from the process", () => {
    expect(shown("java -jar /x/picard.jar SortSam I=a")).toBe("picard SortSam (picard.jar)");
    expect(shown("python3 /w/scripts/count.py in.txt")).toBe("count.py: in.txt");
    expect(shown("bwa mem ref")).toBe("bwa mem");
  });
  test("drops a placeholder with no value", () => expect(shown("bwa")).toBe("bwa"));
  test("an unknown placeholder is refused with file:line", () => {
    const msg = problemOf("rules:\n  - name: x\n    display_name: 'x {subcmd}'\n    process_name_is: x\n");
    expect(msg).toContain("user.yml:3: display_name: unknown placeholder {subcmd}");
  });
});

describe("strictness: file, line and key", () => {
  test("a typo'd key is refused (never silently ignored) and a close key suggested", () => {
    const text = [
      "# my rules",
      "rules:",
      "  - name: aligner",
      "    process_name_is: bwa",
      "  - name: sorter",
      "    # a comment that mentions subcommand_is_one_of: must not shift the line",
      "    proces_name_is: samtools",
    ].join("\n");
    expect(problemOf(text, "/home/me/rules.yml")).toBe(
      '/home/me/rules.yml:7: proces_name_is: unknown key (did you mean "process_name_is"?)',
    );
  });
  test("a typo inside and/or/not and java is found on its own line", () => {
    const msg = problemOf(
      [
        "rules:",
        "  - name: a",
        "    or:",
        "      - process_name_is: a",
        "      - not:",
        "          first_arg_iz: b",
        "  - name: p",
        "    java: { jarr: picard.jar }",
      ].join("\n"),
    );
    expect(msg).toContain("user.yml:6: first_arg_iz: unknown key");
    expect(msg).toContain('user.yml:8: java: unknown key "jarr"');
  });
  test("malformed rules: wrong value types, a missing name, no condition, unknown top-level key", () => {
    const msg = problemOf(
      [
        "rules:",
        "  - name: a",
        "    min_args: two",
        "  - process_name_is: b",
        "  - name: c",
        "  - name: d",
        "    kind: pipeline",
        "    subcommand_is_one_of: []",
        "    and: { process_name_is: x }",
        "excludes:",
        "  - args_contain: --help",
      ].join("\n"),
    );
    expect(msg).toContain("user.yml:3: min_args: expects a whole number");
    expect(msg).toContain("user.yml:4: rules[1]: every rule needs a name");
    expect(msg).toContain("user.yml:5: c: a rule needs at least one condition");
    expect(msg).toContain("user.yml:7: kind: expects one of tool, workflow, script");
    expect(msg).toContain("user.yml:8: subcommand_is_one_of: expects a non-empty string");
    expect(msg).toContain("user.yml:9: and: expects a non-empty list");
    expect(msg).toContain("user.yml:10: excludes: unknown key");
  });
  test("invalid YAML names the file", () => {
    expect(problemOf("rules: [\n", "broken.yml")).toStartWith("broken.yml: not valid YAML");
  });
});

describe("precedence and exclusions", () => {
  const user = "rules:\n  - name: mine\n    display_name: 'my {subcommand}'\n    process_name_is: bwa\n";
  const defaults =
    "rules:\n  - name: first\n    process_name_is: bwa\n    first_arg_is: mem\n  - name: second\n    process_name_is: bwa\n";
  test("first match in file order", () => {
    const s = setOf(defaults);
    expect(matchProcess(s, { argv: ["bwa", "mem"] })?.rule.name).toBe("first");
    expect(matchProcess(s, { argv: ["bwa", "aln"] })?.rule.name).toBe("second");
  });
  test("user files come first and win", () => {
    const s = setOf(user, defaults);
    const m = matchProcess(s, { argv: ["bwa", "mem"] });
    expect(m?.rule.name).toBe("mine");
    expect(m?.display).toBe("my mem");
    expect(m?.rule.origin).toBe("f0.yml:2");
  });
  test("an exclusion in any file wins over every rule, and says where it is", () => {
    const s = setOf(user, `${defaults}exclude:\n  - args_contain: --version\n  - first_arg_is: help\n`);
    expect(classify(s, { argv: ["bwa", "--version"] })).toEqual({ excluded: "f1.yml:8" });
    expect(classify(s, { argv: ["bwa", "help"] })).toEqual({ excluded: "f1.yml:9" });
    expect(matchProcess(s, { argv: ["bwa", "help"] })).toBeUndefined();
    expect(matchProcess(s, { argv: ["bwa", "mem", "--versions"] })?.rule.name).toBe("mine");
  });
});

describe("regular expressions are safe", () => {
  test("a catastrophic-backtracking pattern runs in linear time (RE2): 100k characters, no match", () => {
    const s = one("command_matches_regex: '^(a+)+$'");
    expect(hits(s, ["x", `${"a".repeat(100_000)}!`])).toBe(false);
    expect(hits(s, ["aaaa"])).toBe(true);
    const nested = one("command_matches_regex: '(x+x+)+y'");
    expect(hits(nested, ["prog", "x".repeat(50_000)])).toBe(false);
  });
  test("backreferences and lookarounds (which need backtracking) are refused", () => {
    expect(problemOf("rules:\n  - name: a\n    command_matches_regex: '(a)\\1'\n")).toContain(
      "user.yml:3: command_matches_regex: not a valid RE2 pattern",
    );
    expect(problemOf("rules:\n  - name: a\n    command_matches_regex: 'a(?=b)'\n")).toContain(
      "user.yml:3: command_matches_regex: not a valid RE2 pattern",
    );
  });
  test("an over-long pattern is refused", () => {
    expect(problemOf(`rules:\n  - name: a\n    command_matches_regex: '${"a".repeat(600)}'\n`)).toContain(
      "pattern is 600 characters (at most 512)",
    );
  });
  test("the embedded defaults' regexes are all valid RE2 (they are compiled only on first use)", () => {
    // parsed as a user file: every pattern is compiled and validated now
    const p = parseRuleFile(defaultsText, "defaults.yml");
    expect(p.rules.length).toBeGreaterThan(0);
    expect(defaultsText).toContain("command_matches_regex");
  });
  test("a trusted file's regex compiles on first use, then matches like a validated one", () => {
    const text =
      "rules:\n  - name: hit\n    command_matches_regex: '(a)\\1'\n  - name: ok\n    command_matches_regex: '^x+$'\n";
    // not compiled at load: the invalid pattern is not seen until a process reaches it
    const p = parseRuleFile(text, "trusted.yml", { trusted: true });
    const set: RuleSet = { rules: p.rules, exclude: [], files: ["trusted.yml"] };
    expect(() => matchProcess(set, { argv: ["aa"] })).toThrow("not a valid RE2 pattern");
    const ok: RuleSet = { rules: p.rules.slice(1), exclude: [], files: ["trusted.yml"] };
    expect(matchProcess(ok, { argv: ["xx"] })?.rule.name).toBe("ok");
    expect(matchProcess(ok, { argv: ["xy"] })).toBeUndefined();
    // the same file, not trusted, is refused at load
    expect(problemOf(text)).toContain("user.yml:3: command_matches_regex: not a valid RE2 pattern");
  });
});
