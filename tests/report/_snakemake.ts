/** A tiny generated genome, reads and a Snakemake workflow with `benchmark:` on every job. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** deterministic xorshift32 */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const BASES = "ACGT";
const COMP: Record<string, string> = { A: "T", C: "G", G: "C", T: "A" };

export interface WorkflowSize {
  genomeBp: number;
  reads: number;
  readLen: number;
}

/** ref.fa plus, per sample, reads drawn from both strands with 1 % substitutions. */
export function writeData(dir: string, samples: string[], size: WorkflowSize): void {
  const r = rng(20261128);
  const genome = Array.from({ length: size.genomeBp }, () => BASES[Math.floor(r() * 4)]).join("");
  const lines = genome.match(/.{1,70}/g)!;
  writeFileSync(join(dir, "ref.fa"), `>chr1\n${lines.join("\n")}\n`);
  for (const s of samples) {
    const out: string[] = [];
    for (let i = 0; i < size.reads; i++) {
      const at = Math.floor(r() * (size.genomeBp - size.readLen));
      let seq = [...genome.slice(at, at + size.readLen)].map((b) =>
        r() < 0.01 ? BASES[Math.floor(r() * 4)] : b,
      );
      if (r() < 0.5) seq = seq.reverse().map((b) => COMP[b!]!);
      out.push(`@${s}_${i}`, seq.join(""), "+", "I".repeat(size.readLen));
    }
    writeFileSync(join(dir, `${s}.fq`), `${out.join("\n")}\n`);
  }
}

export const SNAKEFILE = `
SAMPLES = ["s1", "s2"]

rule all:
    input: expand("sorted/{s}.bam.bai", s=SAMPLES)

rule bwa_index:
    input: "ref.fa"
    output: "ref.fa.bwt"
    benchmark: "bench/bwa_index.tsv"
    shell: "bwa index -a is {input} 2> /dev/null"

rule bwa_map:
    input: ref="ref.fa", idx="ref.fa.bwt", reads="{s}.fq"
    output: "mapped/{s}.bam"
    benchmark: "bench/bwa_map.{s}.tsv"
    shell: "bwa mem -t 1 -K 100000 {input.ref} {input.reads} 2> /dev/null | samtools view -b -o {output} -"

rule samtools_sort:
    input: "mapped/{s}.bam"
    output: "sorted/{s}.bam"
    benchmark: "bench/samtools_sort.{s}.tsv"
    shell: "samtools sort -m 64M -o {output} {input} 2> /dev/null"

rule samtools_index:
    input: "sorted/{s}.bam"
    output: "sorted/{s}.bam.bai"
    benchmark: "bench/samtools_index.{s}.tsv"
    shell: "samtools index {input}"
`;

export interface Bench {
  s: number;
  maxRssMiB: number | null;
}

/** Snakemake's benchmark TSV: s, h:m:s, max_rss (MiB, "-" when no sample was taken), … */
export function readBench(text: string): Bench {
  const [head, row] = text.trim().split("\n");
  const cols = head!.split("\t");
  const vals = row!.split("\t");
  const get = (k: string) => vals[cols.indexOf(k)]!;
  const rss = get("max_rss");
  return { s: Number(get("s")), maxRssMiB: rss === "-" || rss === "NA" ? null : Number(rss) };
}
