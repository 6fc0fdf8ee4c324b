/**
 * The report's fast paths give the figures of the general ones: a few processes' upper bound without
 * the sweep, one process's sampled peak without a map of instants, and the classifier that tries only
 * the rules a process's names can match; a table's rows kept between its two passes.
 */
import { expect, test } from "bun:test";
import { classifier, classify, loadRules, matchProcess } from "../../src/rules/index.ts";
import { paint, table } from "../../src/run/table.ts";
import { peakRss, smallUpperBound, sweepUpperBound } from "../../src/steps/_rollup.ts";
import type { RssSamples, StepProcess } from "../../src/steps/index.ts";
import { rng } from "../helpers/rng.ts";

const proc = (id: number, r: (n: number) => number): StepProcess => ({
  id,
  pid: id,
  parentId: null,
  comm: "x",
  argv: ["x"],
  cwd: null,
  // small ranges so lifetimes touch and overlap; some unknown (null) and some negative peaks
  startedAt: r(8) === 0 ? null : r(20),
  endedAt: r(8) === 0 ? null : r(30),
  exitCode: 0,
  signal: null,
  oomKilled: false,
  userUs: null,
  systemUs: null,
  peakRssKb: r(10) === 0 ? null : r(10) === 0 ? -5 : r(1000),
  rchar: null,
  wchar: null,
  readBytes: null,
  writeBytes: null,
});

test("a few processes' upper bound equals the sweep's, ties, unknown times and bad peaks included", () => {
  const r = rng(0x9e3779b9);
  for (let k = 0; k < 2000; k++) {
    const procs = Array.from({ length: 1 + r(16) }, (_, i) => proc(i, r));
    expect(smallUpperBound(procs)).toBe(sweepUpperBound(procs));
  }
});

test("one sampled process: its peak per instant, duplicates at an instant summed, unsorted lists too", () => {
  const p = { ...proc(1, rng(7)), peakRssKb: 10 };
  const q = { ...proc(2, rng(8)), peakRssKb: null };
  const sorted: RssSamples = new Map([
    [
      1,
      [
        { at: 1, rssKb: 50 },
        { at: 2, rssKb: 40 },
        { at: 2, rssKb: 30 },
      ],
    ],
  ]);
  expect(peakRss([p, q], sorted).peakRssKb).toBe(70);
  const unsorted: RssSamples = new Map([
    [
      1,
      [
        { at: 2, rssKb: 40 },
        { at: 1, rssKb: 50 },
        { at: 2, rssKb: 30 },
      ],
    ],
  ]);
  expect(peakRss([p, q], unsorted).peakRssKb).toBe(70);
  const two: RssSamples = new Map([
    [1, [{ at: 1, rssKb: 50 }]],
    [2, [{ at: 1, rssKb: 25 }]],
  ]);
  expect(peakRss([p, q], two).peakRssKb).toBe(75);
});

test("the classifier gives classify's verdict for every process, and matchProcess's with matchOnly", () => {
  const rules = loadRules({ config: false });
  const classifyMany = classifier(rules);
  const matchMany = classifier(rules, { matchOnly: true });
  const argvs: string[][] = [
    ["bwa", "mem", "-t", "4", "ref.fa", "r.fq"],
    ["/usr/bin/samtools", "sort", "-o", "o.bam", "i.bam"],
    ["samtools", "--version"],
    ["python3", "scripts/filter.py", "x"],
    ["python3", "-c", "print(1)"],
    ["bash", "-c", "gzip -dc x.gz"],
    ["/bin/sh", "run.sh"],
    ["java", "-jar", "/opt/picard.jar", "MarkDuplicates"],
    ["java", "-cp", "gatk.jar", "org.broadinstitute.hellbender.Main", "HaplotypeCaller"],
    ["snakemake", "-j", "4"],
    ["nextflow", "run", "main.nf"],
    ["make", "-j2"],
    ["bash", ".command.run"],
    ["/usr/bin/env", "Rscript", "plot.R"],
    ["Rscript", "plot.R"],
    ["gzip", "-h"],
    ["cc", "-c", "x.c"],
    ["true"],
  ];
  for (const argv of argvs)
    for (const comm of [null, argv[0]!.slice(argv[0]!.lastIndexOf("/") + 1).slice(0, 15), "plot.R", "java"])
      for (const a of [argv, null]) {
        const facts = { argv: a, comm };
        expect(classifyMany(facts)).toEqual(classify(rules, facts));
        expect(matchMany(facts)).toEqual(matchProcess(rules, facts));
      }
});

test("a table's rows kept between its passes and rows made again (styled) print alike, cleaned and aligned", () => {
  const styled = paint.failed("FAILED 1");
  const t = table(
    ["N", "EXIT", "CMD"],
    [
      ["1", "0", "a\tb"],
      ["22", styled, "x\u001b[31my"],
      ["3", "0", ""],
    ],
    new Set([0]),
  );
  expect(t.split("\n")).toEqual([
    " N  EXIT      CMD",
    " 1  0         a\\tb",
    "22  FAILED 1  x\\x1b[31my",
    " 3  0",
  ]);
});
