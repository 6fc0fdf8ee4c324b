/** `tracer diff` as text: the two runs (how each ended, and the change), then one row per matched step, then the steps only in A or B. */
import { sanitize } from "../core/sanitize.ts";
import { fitTable, hiddenNote, wrapText } from "../run/table.ts";
import { bytes, exitText } from "../run/units.ts";
import {
  type Change,
  type RunDiff,
  type RunRef,
  type StepDiff,
  type StepState,
  onlyExit,
  runEnd,
} from "./diff.ts";
import { plural } from "../core/plural.ts";

const pct = (c: Change) => (c.pct === null ? "" : ` (${c.pct > 0 ? "+" : ""}${c.pct}%)`);
const secs = (v: number | null) => (v === null ? "-" : v < 10 ? `${v.toFixed(3)}s` : `${v.toFixed(1)}s`);

function cell(c: Change, f: (v: number | null) => string): string {
  if (c.a === c.b) return f(c.b);
  return `${f(c.a)} → ${f(c.b)}${pct(c)}`;
}

/** ": failed, exit 1" after a run's name (nothing for a diff of an older tracer, which left it out) */
const end = (r: RunRef) => (r.status === undefined ? "" : `: ${runEnd(r)}`);

const exitOf = (s: StepState) => exitText(s.exit_code, s.signal, s.oom_killed);

function row(s: StepDiff): string[] {
  const ea = exitOf(s.a);
  const eb = exitOf(s.b);
  return [
    s.status_change ?? "",
    ea === eb ? eb : `${ea} → ${eb}`,
    cell(s.changes.wall_ms, (v) => secs(v === null ? null : v / 1000)),
    cell(s.changes.cpu_seconds, secs),
    cell(s.changes.peak_rss_bytes, bytes),
    cell(s.changes.read_bytes, bytes),
    cell(s.changes.write_bytes, bytes),
    label(s),
  ];
}

/** a step's name with its key's ordinal when the run has several of that name (`samtools faidx #2`), as the report labels it */
const label = (s: { name: string; key: string }) => {
  const n = /#(\d+)$/.exec(s.key)?.[1];
  return n ? `${s.name} #${n}` : s.name;
};

/** "3 steps matched of 3 in A and 4 in B": a key is one step in a run, so each run's count is matched + its own */
const matchedLine = (d: RunDiff) =>
  `${plural(d.matched, "step")} matched of ${d.matched + d.only_in_a.length} in A and ${d.matched + d.only_in_b.length} in B`;

/**
 * the step table's columns that give way at a narrow width, least wanted first; STATUS and EXIT, how
 * each step ended, stay (an 80-column terminal: STATUS, EXIT, WALL and STEP)
 */
const LEFT_OUT_FIRST = ["DISK WRITE", "DISK READ", "CPU", "PEAK RSS", "WALL"] as const;

/**
 * The comparison as text, fitted to `width` terminal columns as the report is: lines wrap, the step
 * table's figure columns give way (LEFT_OUT_FIRST) before the STEP column is cut short, and a note names
 * them.
 */
export function renderDiff(d: RunDiff, width = Number.POSITIVE_INFINITY): string {
  // recorded names sanitised, then wrapped: a line's further lines under its text
  const wrapped = (text: string, indent: number) => wrapText(sanitize(text), width, indent);
  const lines = [
    wrapped(`A  ${d.a.name} (${d.a.id}), pipeline ${d.a.pipeline}${end(d.a)}`, 3),
    wrapped(
      `B  ${d.b.name} (${d.b.id}), pipeline ${d.b.pipeline}${end(d.b)}${d.run_status_change ? `  (${d.run_status_change})` : ""}`,
      3,
    ),
  ];
  if (d.a.pipeline !== d.b.pipeline)
    lines.push(
      wrapped(`note: different pipelines (${d.a.pipeline}, ${d.b.pipeline}): few or no steps may match`, 6),
    );
  lines.push(wrapText(matchedLine(d), width), "");
  if (d.steps.length) {
    const { text, leftOut } = fitTable(
      ["STATUS", "EXIT", "WALL", "CPU", "PEAK RSS", "DISK READ", "DISK WRITE", "STEP"],
      d.steps.map(row),
      new Set(),
      width,
      LEFT_OUT_FIRST,
    );
    lines.push(text);
    if (leftOut.length) lines.push(hiddenNote(leftOut, width, "--width or --json").trimEnd());
  } else if (d.matched === 0) lines.push("no step matched: nothing was compared");
  else if (d.hidden) lines.push(wrapText("no matched step changed by the threshold or more", width));
  else lines.push("no matched step changed");
  if (d.hidden)
    lines.push(
      wrapText(`(${plural(d.hidden, "step")} changed less than the threshold: not listed)`, width, 1),
    );
  for (const [title, list] of [
    ["only in A", d.only_in_a],
    ["only in B", d.only_in_b],
  ] as const) {
    if (!list.length) continue;
    lines.push("", `${title}:`);
    // the two spaces in front kept (wrapText starts a line at a word)
    for (const s of list)
      lines.push(
        `  ${wrapText(sanitize(`${label(s)}${s.failed ? `  (failed, exit ${onlyExit(s)})` : ""}  [${s.key}]`), width - 2, 4)}`,
      );
  }
  return lines.join("\n");
}
