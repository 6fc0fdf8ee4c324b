/** The name filter a rule set implies (src/rules/prefilter.ts): never drops a process a rule matches. */
import { describe, expect, test } from "bun:test";
import { loadRules, matchProcess, parseRuleFile } from "../../src/rules/index.ts";
import type { RuleSet } from "../../src/rules/index.ts";
import { filterNames, nameFilter, passes } from "../../src/rules/prefilter.ts";

const setOf = (text: string): RuleSet => {
  const p = parseRuleFile(text, "f.yml");
  return { rules: p.rules, exclude: p.exclude, files: ["f.yml"] };
};
const defaults = loadRules({ config: false });

/** Processes shaped as the rules see them: plain, by path, via #!, java, python -m, renamed argv[0]. */
function corpus(names: string[]): { argv: string[]; comm: string }[] {
  const out: { argv: string[]; comm: string }[] = [];
  for (const n of names) {
    const comm = n.slice(0, 15);
    out.push({ argv: [n, "mem", "ref.fa"], comm });
    out.push({ argv: [`/opt/bin/${n}`, "index", "--threads", "4"], comm });
    out.push({ argv: ["/bin/sh", `/work/${n}`, "run"], comm }); // a script through its #! line
    out.push({ argv: ["/usr/bin/python3", `/work/${n}`, "x"], comm });
    out.push({ argv: [`${n}-wrapper`, "sub"], comm: `${n}-wrapper`.slice(0, 15) });
    out.push({ argv: ["renamed", "sub"], comm }); // argv[0] rewritten: only the kernel comm tells
  }
  for (const jar of ["gatk-4.2.jar", "picard.jar", "trimmomatic-0.39.jar", "cromwell-85.jar"])
    out.push({ argv: ["java", "-Xmx4g", "-jar", `/opt/${jar}`, "Sub"], comm: "java" });
  out.push({ argv: ["java", "-cp", "x.jar", "nextflow.cli.Launcher", "run"], comm: "java" });
  out.push({ argv: ["python3", "-m", "snakemake", "-j", "4"], comm: "python3" });
  out.push({ argv: ["/usr/bin/python3.11", "/usr/bin/snakemake", "-j4"], comm: "snakemake" });
  out.push({ argv: ["bash", "-c", "bwa mem ref.fa"], comm: "bash" });
  out.push({ argv: ["/bin/true"], comm: "true" }, { argv: ["ls", "-l"], comm: "ls" });
  return out;
}

describe("nameFilter", () => {
  test("the embedded defaults imply a filter, and every process they match passes it", () => {
    const f = nameFilter(defaults);
    expect(f).toBeDefined();
    const names = [...f!.is, ...f!.contains, "intersectBed", "true", "ls", "cat", "python3.12"];
    let matched = 0;
    for (const p of corpus(names)) {
      if (!matchProcess(defaults, p)) continue;
      matched++;
      expect({ p, passes: passes(f!, filterNames(p.argv, p.comm)) }).toEqual({ p, passes: true });
    }
    expect(matched).toBeGreaterThan(100);
    // and it does filter: unrelated processes do not pass
    for (const argv of [["/bin/true"], ["ls", "-l"], ["/usr/bin/cat", "x"]])
      expect(passes(f!, filterNames(argv, argv[0]!.split("/").pop()))).toBe(false);
  });

  test("and, or, not, contains, java: the filter passes what the rules match", () => {
    const set = setOf(`rules:
  - name: a
    and: [{ command_contains: index }, { process_name_is: [aligner] }]
  - name: b
    or: [{ process_name_contains: mapper }, { java: { jar: "tool*.jar" } }]
  - name: c
    process_name_is: caller
    not: { args_contain: --dry }
`);
    const f = nameFilter(set)!;
    expect(new Set(f.is)).toEqual(new Set(["aligner", "java", "caller"]));
    expect(f.contains).toEqual(["mapper"]);
    const procs = [
      { argv: ["/x/aligner", "index"], comm: "aligner" },
      { argv: ["readmapper2", "run"], comm: "readmapper2" },
      { argv: ["java", "-jar", "tool-1.jar"], comm: "java" },
      { argv: ["/bin/sh", "/w/caller", "go"], comm: "caller" },
      { argv: ["x", "index"], comm: "aligner" },
    ];
    for (const p of procs) {
      expect(matchProcess(set, p)).toBeDefined();
      expect(passes(f, filterNames(p.argv, p.comm))).toBe(true);
    }
    expect(passes(f, filterNames(["/bin/true"], "true"))).toBe(false);
  });

  test("a rule that can match whatever a process is named leaves no filter", () => {
    expect(nameFilter(setOf("rules:\n  - name: any\n    command_contains: --reference\n"))).toBeUndefined();
    expect(nameFilter(setOf("rules:\n  - name: n\n    not: { process_name_is: ls }\n"))).toBeUndefined();
    expect(
      nameFilter(setOf("rules:\n  - name: o\n    or: [{ process_name_is: x }, { args_contain: --bam }]\n")),
    ).toBeUndefined();
  });
});
