/** The embedded defaults name the common tools, engines and scripts, and skip help/version probes. */
import { expect, test } from "bun:test";
import { classify, loadRules } from "../../src/rules/index.ts";

const set = loadRules({ config: false });
const named = (cmd: string, comm: string) => {
  const argv = cmd.split(" ");
  const v = classify(set, { argv, comm: comm || argv[0]!.slice(argv[0]!.lastIndexOf("/") + 1).slice(0, 15) });
  return v && "rule" in v ? `${v.rule.kind}:${v.rule.name}:${v.display}` : v ? "excluded" : "unknown";
};

/** command line, expected kind:rule:display, comm when it differs from basename(argv[0]) ("" = same) */
const CASES: [string, string, string][] = [
  ["bwa mem -t 4 ref.fa r1.fq r2.fq", "tool:bwa:bwa mem", ""],
  ["/usr/bin/bwa index ref.fa", "tool:bwa:bwa index", ""],
  ["bwa-mem2 mem ref.fa r.fq", "tool:bwa:bwa mem", ""],
  ["/usr/bin/perl /usr/bin/bowtie2 -x idx -U r.fq", "tool:bowtie2:bowtie2", "bowtie2"],
  ["/usr/bin/bowtie2-align-s --wrapper basic-0 -x idx", "tool:bowtie2:bowtie2", ""],
  ["minimap2 -ax sr ref.fa r.fq", "tool:minimap2:minimap2", ""],
  ["STAR --runMode alignReads --genomeDir g", "tool:STAR:STAR alignReads", ""],
  ["salmon quant -i idx -l A", "tool:salmon:salmon quant", ""],
  ["kallisto quant -i idx -o out", "tool:kallisto:kallisto quant", ""],
  ["samtools sort -@ 2 -o out.bam in.bam", "tool:samtools:samtools sort", ""],
  ["bcftools call -mv in.bcf", "tool:bcftools:bcftools call", ""],
  ["bedtools intersect -a a.bed -b b.bed", "tool:bedtools:bedtools intersect", ""],
  ["fastqc -o qc r1.fq", "tool:fastqc:fastqc", ""],
  [
    "java -Xmx250m -cp /usr/share/fastqc uk.ac.babraham.FastQC.FastQCApplication r1.fq",
    "tool:fastqc:fastqc",
    "",
  ],
  ["/usr/bin/python3 /usr/local/bin/multiqc .", "tool:multiqc:multiqc", "multiqc"],
  ["fastp -i r1.fq -o t1.fq", "tool:fastp:fastp", ""],
  ["java -jar /opt/trimmomatic-0.39.jar PE r1 r2", "tool:trimmomatic:trimmomatic PE", ""],
  ["/usr/bin/python3 /usr/bin/cutadapt -a AGATC r.fq", "tool:cutadapt:cutadapt", "cutadapt"],
  ["/usr/bin/python3 /opt/gatk/gatk HaplotypeCaller -R ref.fa", "tool:gatk:gatk HaplotypeCaller", "gatk"],
  [
    "java -Xmx4g -jar /opt/gatk/gatk-package-4.5-local.jar HaplotypeCaller -R ref",
    "tool:gatk:gatk HaplotypeCaller",
    "",
  ],
  [
    "java -Xmx2g -jar /usr/share/java/picard.jar MarkDuplicates I=a.bam O=b.bam",
    "tool:picard:picard MarkDuplicates",
    "",
  ],
  ["hisat2-align-s --wrapper basic-0 -x idx", "tool:hisat2:hisat2", ""],
  ["featureCounts -a genes.gtf -o counts.txt a.bam", "tool:featureCounts:featureCounts", ""],
  ["seqtk sample -s 11 r.fq 1000", "tool:seqtk:seqtk sample", ""],
  ["/bin/bash /usr/local/bin/nextflow run main.nf", "workflow:nextflow:nextflow", "nextflow"],
  ["java -cp /x/nextflow.jar nextflow.cli.Launcher run main.nf", "workflow:nextflow:nextflow", ""],
  ["/usr/bin/python3 /usr/bin/snakemake -j 2", "workflow:snakemake:snakemake", "snakemake"],
  ["/usr/bin/python3 /usr/bin/snakemake -j 2", "workflow:snakemake:snakemake", "python3"],
  ["python3 -m snakemake --cores 1", "workflow:snakemake:snakemake", ""],
  ["java -jar cromwell-86.jar run wf.wdl", "workflow:cromwell:cromwell run", ""],
  ["make -j4 all", "workflow:make:make", ""],
  ["python3 scripts/count_reads.py in.bam", "script:python:count_reads.py", ""],
  ["/usr/bin/python3 -u /w/bin/plot.py", "script:python:plot.py", ""],
  ["Rscript --vanilla analysis/de.R counts.tsv", "script:R:de.R", ""],
  ["/usr/lib/R/bin/exec/R --no-echo --no-restore --file=report.R", "script:R:report.R", "R"],
  ["bash run_all.sh", "script:bash:run_all.sh", ""],
  ["/usr/bin/python3 ./bin/align_stats.py --in x", "script:python:align_stats.py", "align_stats.py"],
  [
    "/bin/bash /w/scripts/a_very_long_script_name.sh",
    "script:bash:a_very_long_script_name.sh",
    "a_very_long_scr",
  ],
  ["perl tools/convert.pl x", "script:perl:convert.pl", ""],
  // help and version probes, inline shells and unknown programs are not steps
  ["samtools --version", "excluded", ""],
  ["bwa --help", "excluded", ""],
  ["java -version", "excluded", ""],
  ["samtools help", "excluded", ""],
  ["/bin/bash -c set -euo pipefail; bwa mem", "unknown", ""],
  ["python3 -c print(1)", "unknown", ""],
  ["ls -l", "unknown", ""],
];

test.each(CASES)("%s → %s", (cmd, expected, comm) => {
  expect(named(cmd, comm)).toBe(expected);
});
