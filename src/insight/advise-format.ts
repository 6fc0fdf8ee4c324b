/** `tracer advise` outputs: a table, a Nextflow config and a Snakemake profile, every recorded name escaped. */
import { sanitize } from "../core/sanitize.ts";
import { fitTable, hiddenNote, wrapText } from "../run/table.ts";
import { bytes, cpuText, seconds } from "../run/units.ts";
import { type Advice, MIN_RUNS, type Spread, type StepAdvice } from "./advise.ts";
import { plural } from "../core/plural.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * A Groovy single-quoted string literal for a Nextflow `withName:` selector, which Nextflow reads as a
 * regular expression (a leading `!` negates it): regex metacharacters and `!` are quoted so the name
 * matches only itself; `\` and `'` are escaped for Groovy; every UTF-16 unit that is not printable
 * ASCII (a newline, a bidi control, a lone surrogate, any non-ASCII letter) becomes the regex escape
 * `\uXXXX`, written `\\uXXXX` in the literal: Groovy, like Java, turns a `\uXXXX` it meets in the
 * source into the character before it parses (a raw line break would end the string), but not one whose
 * backslash is itself escaped. Nothing recorded reaches the file unescaped.
 */
export function groovySelector(name: string): string {
  const regex = name.replace(/[.*+?^${}()|[\]\\/!-]/g, "\\$&");
  let out = "";
  for (let i = 0; i < regex.length; i++) {
    const c = regex.charCodeAt(i);
    if (c === 0x5c) out += "\\\\";
    else if (c === 0x27) out += "\\'";
    else if (c < 0x20 || c > 0x7e) out += `\\\\u${c.toString(16).padStart(4, "0")}`;
    else out += regex[i];
  }
  return `'${out}'`;
}

/** Nextflow memory: whole MB below 1 GiB, else whole GB (the values are already rounded up) */
export const nextflowMemory = (b: number) =>
  b < GiB ? `${Math.ceil(b / MiB)} MB` : `${Math.ceil(b / GiB)} GB`;
export const nextflowTime = (min: number) => (min % 60 === 0 ? `${min / 60}h` : `${min}m`);

/** what an OOM kill is shown with: the cgroup limit it died at when recorded, and the peak then */
const oomText = (s: StepAdvice) =>
  `OOM-killed ${s.oom_kills}× (${s.oom_limit_bytes === null ? "" : `limit ${bytes(s.oom_limit_bytes)}, `}peak then ${bytes(s.oom_peak_bytes)})`;

/**
 * One comment line: recorded text shown escaped, never a line break, and each `\` doubled. Groovy 2
 * (like Java) turns a `\uXXXX` anywhere in the source, a comment included, into its character before
 * it parses: a recorded name holding the text `\u000a` ended the comment and put what followed into
 * the config (code, which ConfigSlurper runs), and sanitize's own `\u{202e}` is no escape it accepts
 * (the file failed to parse). A backslash right after another never starts such an escape.
 */
const comment = (text: string) => `// ${sanitize(text).replaceAll("\\", "\\\\")}`;

export function renderNextflow(a: Advice): string {
  const lines = [
    comment(
      `tracer advise: pipeline ${a.pipeline}, ${plural(a.runs.length, "run")}: ${a.runs.map((r) => r.name).join(", ")}`,
    ),
    "// memory = max(p95 peak × 1.2, max peak) rounded up; cpus = observed parallelism; time = p95 wall × 1.5",
  ];
  if (a.weak) lines.push(comment(`WEAK ADVICE: ${a.weak}`));
  lines.push("process {");
  for (const s of a.steps) {
    if (!s.suggest) continue;
    if (s.oom_kills) lines.push(comment(`${s.name}: ${oomText(s)}`));
    if (fewRuns(s)) lines.push(comment(`${s.name}: WEAK, ${fewRuns(s)}`));
    lines.push(
      `    withName: ${groovySelector(s.name)} {`,
      `        memory = '${nextflowMemory(s.suggest.memory_bytes)}'`,
      `        cpus = ${s.suggest.cpus}`,
      `        time = '${nextflowTime(s.suggest.time_minutes)}'`,
      "    }",
    );
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/**
 * A Snakemake 7 profile (`config.yaml` of `snakemake --profile DIR`): `set-resources` entries
 * `RULE:mem_mb=N` and `RULE:runtime=MINUTES`, `set-threads` entries `RULE=N`, for every step whose rule
 * is known (src/insight/_snakemake.ts; a rule name is a Python identifier, checked again here). Each
 * entry is a JSON string, which YAML reads as a double-quoted scalar; comments are sanitised, one line.
 */
export function renderSnakemake(a: Advice): string {
  const head = [
    `# ${sanitize(`tracer advise: pipeline ${a.pipeline}, ${plural(a.runs.length, "run")}: ${a.runs.map((r) => r.name).join(", ")}`)}`,
    "# mem_mb = max(p95 peak × 1.2, max peak) rounded up; threads = observed parallelism; runtime = p95 wall × 1.5 (minutes)",
  ];
  if (a.weak) head.push(`# ${sanitize(`WEAK ADVICE: ${a.weak}`)}`);
  const resources: string[] = [];
  const threads: string[] = [];
  for (const s of a.steps) {
    if (!s.suggest) continue;
    const rule = s.snakemake_rule;
    if (!rule || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(rule)) {
      if (s.kind === "snakemake-job")
        head.push(`# ${sanitize(`no rule known for job "${s.name}": skipped`)}`);
      continue;
    }
    if (s.oom_kills) head.push(`# ${rule}: ${oomText(s)}`);
    if (fewRuns(s)) head.push(`# ${rule}: WEAK, ${fewRuns(s)}`);
    resources.push(
      `  - ${JSON.stringify(`${rule}:mem_mb=${Math.ceil(s.suggest.memory_bytes / MiB)}`)}`,
      `  - ${JSON.stringify(`${rule}:runtime=${s.suggest.time_minutes}`)}`,
    );
    threads.push(`  - ${JSON.stringify(`${rule}=${s.suggest.cpus}`)}`);
  }
  const body = resources.length
    ? ["set-resources:", ...resources, "set-threads:", ...threads]
    : // an empty mapping, not an empty file: Snakemake refuses a profile that is not a mapping
      ["# no Snakemake job with a known rule in these runs", "{}"];
  return `${[...head, ...body].join("\n")}\n`;
}

const spread = (s: Spread, f: (v: number) => string) => `${f(s.p50)} / ${f(s.p95)} / ${f(s.max)}`;
// as the report writes them: a 12 ms step is 0.012s, not 0.0s (newcomer)
const secs = (ms: number) => seconds(ms * 1000);

/** a step seen in fewer runs than MIN_RUNS: its own advice is weak, whatever the pipeline's count */
const fewRuns = (s: StepAdvice) =>
  s.suggest && s.runs_seen < MIN_RUNS ? `seen in ${plural(s.runs_seen, "run")} only` : "";

function flags(s: StepAdvice): string {
  const f: string[] = [];
  if (fewRuns(s)) f.push(fewRuns(s));
  if (s.oom_kills) f.push(`OOM-killed ${s.oom_kills}×`);
  if (s.over_requested.length) f.push(`over-requested ${s.over_requested.join("+")}`);
  if (s.failures) f.push(`failed ${s.failures}×`);
  if (s.cpu_efficiency !== null && s.cpu_efficiency < 0.5 && s.kind !== "other") f.push("low CPU efficiency");
  return f.join(", ");
}

/** the known request as MEM/CPUS/TIME ("-" for a figure not set), or "-" */
function requestedText(s: StepAdvice): string {
  const r = s.requested;
  if (!r) return "-";
  return [
    r.memory_bytes === null ? "-" : bytes(r.memory_bytes),
    r.cpus === null ? "-" : String(r.cpus),
    r.time_minutes === null ? "-" : nextflowTime(r.time_minutes),
  ].join("/");
}

/**
 * the table's columns that give way at a narrow width, least wanted first: the spreads first (EFF sums
 * up CPU's); MEM, CPUS and TIME, the advice itself, always stay
 */
const LEFT_OUT_FIRST = [
  "CPU p50/p95/max",
  "WALL p50/p95/max",
  "N",
  "PEAK RSS p50/p95/max",
  "EFF",
  "REQUESTED",
  "RUNS",
  "FLAGS",
] as const;

/**
 * The advice as a table, fitted to `width` terminal columns as the report is: the lines above it wrap,
 * its columns give way (LEFT_OUT_FIRST) before the STEP column is cut short, and a note names them.
 */
export function renderAdviceTable(a: Advice, width = Number.POSITIVE_INFINITY): string {
  const head = [
    wrapText(
      sanitize(
        `pipeline  ${a.pipeline}, ${plural(a.runs.length, "run")}: ${a.runs.map((r) => r.name).join(", ")}`,
      ),
      width,
      10,
    ),
  ];
  if (a.weak) head.push(wrapText(sanitize(`WEAK ADVICE: ${a.weak}`), width, 13));
  const rows = a.steps.map((s) => [
    String(s.runs_seen),
    String(s.instances),
    spread(s.peak_rss_bytes, bytes),
    spread(s.wall_ms, secs),
    spread(s.cpu_seconds, (v) => cpuText(v * 1e6)),
    s.cpu_efficiency === null ? "-" : `${Math.round(s.cpu_efficiency * 100)}%`,
    s.suggest ? bytes(s.suggest.memory_bytes) : "-",
    s.suggest ? String(s.suggest.cpus) : "-",
    s.suggest ? nextflowTime(s.suggest.time_minutes) : "-",
    requestedText(s),
    flags(s),
    s.kind === "other" ? `${s.name} (other)` : s.name,
  ]);
  const { text, leftOut } = fitTable(
    [
      "RUNS",
      "N",
      "PEAK RSS p50/p95/max",
      "WALL p50/p95/max",
      "CPU p50/p95/max",
      "EFF",
      "MEM",
      "CPUS",
      "TIME",
      "REQUESTED",
      "FLAGS",
      "STEP",
    ],
    rows,
    new Set([0, 1]),
    width,
    LEFT_OUT_FIRST,
  );
  const note = hiddenNote(leftOut, width, "--width or --format json").trimEnd();
  return `${head.join("\n")}\n\n${text}${note ? `\n${note}` : ""}`;
}
