/** Text for `tracer run`'s summary, `tracer runs` and the minimal `tracer report`. */
import { red, yellow } from "../core/output.ts";
import { sanitize } from "../core/sanitize.ts";
import { withCutMark } from "../steps/_cut.ts";
import { preorderOf, walkDepths } from "../steps/_tree.ts";
import type { ProcessRow, RunRow } from "../store/index.ts";
import { plural } from "../core/plural.ts";
import type { LeftoversEnded } from "./supervisor.ts";
import { exitCell, fitTable, paint, wrapText } from "./table.ts";
import { exitText, seconds, signalName } from "./units.ts";

const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);

/**
 * A run id as tables and messages show it: a UUIDv7's first 13 characters (its 48-bit millisecond
 * timestamp), distinct for runs started a millisecond apart and a prefix `tracer report` accepts.
 */
export const shortRunId = (id: string): string => id.slice(0, 13);

/**
 * The longest command `tracer runs` shows, in characters: the table cuts it to the terminal's width
 * (fitTable); this bounds `--width 0` and what a line can cost (a recorded command line is CMD's argv,
 * any length).
 */
const RUNS_COMMAND_MAX = 1000;

/** the runs table's columns that give way at a narrow width, least wanted first (ID, NAME and STATUS stay) */
const RUNS_LEFT_OUT_FIRST = ["PROCS", "STARTED (UTC)", "PIPELINE", "EXIT", "WALL"] as const;

/**
 * `tracer runs`'s table, fitted to `width` terminal columns as the report's step table is: its figure
 * columns give way (RUNS_LEFT_OUT_FIRST) before the COMMAND column is cut below LAST_MIN_WIDTH;
 * `leftOut` names them (hiddenNote).
 */
export function runsTable(
  runs: RunRow[],
  width = Number.POSITIVE_INFINITY,
): { text: string; leftOut: string[] } {
  const rows = runs.map((r) => [
    shortRunId(r.id),
    r.name,
    r.pipeline,
    when(r.startedAt),
    r.endedAt === null ? "-" : seconds((r.endedAt - r.startedAt) * 1000),
    r.status === "failed"
      ? paint.failed(r.status)
      : r.status === "interrupted" || r.status === "aborted"
        ? paint.warn(r.status)
        : r.status,
    exitCell(r.exitCode, r.signal),
    String(r.processes),
    runCommand(r, RUNS_COMMAND_MAX),
  ]);
  return fitTable(
    ["ID", "NAME", "PIPELINE", "STARTED (UTC)", "WALL", "STATUS", "EXIT", "PROCS", "COMMAND"],
    rows,
    new Set([4, 7]),
    width,
    RUNS_LEFT_OUT_FIRST,
  );
}

/** A process as the process table needs it (a store ProcessRow fits). */
export type TableProcess = Pick<
  ProcessRow,
  | "id"
  | "pid"
  | "parentId"
  | "argv"
  | "comm"
  | "startedAt"
  | "durationUs"
  | "exitCode"
  | "signal"
  | "oomKilled"
  | "userUs"
  | "systemUs"
  | "peakRssKb"
  | "readBytes"
  | "writeBytes"
  | "rchar"
  | "wchar"
> &
  Partial<Pick<ProcessRow, "argvTruncated" | "argvBytes">>;

const byStart = (a: TableProcess, b: TableProcess) => (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.id - b.id;

/**
 * Processes in tree order: each parent followed by its children, siblings by start time; `depth[k]` is
 * order[k]'s depth. Iterative (a chain of processes can be 100,000 deep) and linear after one sort
 * (none when the list is in start order already, as the store returns it).
 */
export function treeOrder<P extends TableProcess>(procs: P[]): { order: P[]; depth: Int32Array } {
  let sorted = procs;
  for (let i = 1; i < procs.length; i++)
    if (byStart(procs[i - 1]!, procs[i]!) > 0) {
      sorted = [...procs].sort(byStart);
      break;
    }
  // the tree and walk order the steps were grouped from, when this is the same list (treeOf)
  const at = preorderOf(sorted).order;
  const order = new Array<P>(at.length);
  for (let k = 0; k < at.length; k++) order[k] = sorted[at[k]!]!;
  return { order, depth: walkDepths(sorted, at) };
}

/** Deeper than this, the COMMAND column is not indented further: the depth is shown as `[+N]`. */
export const MAX_INDENT = 32;
const INDENT = "  ".repeat(MAX_INDENT);
/** The COMMAND column's indentation for a depth: two spaces a level, capped at MAX_INDENT levels. */
export const indent = (depth: number) =>
  depth <= MAX_INDENT ? INDENT.slice(0, 2 * depth) : `${INDENT}[+${depth - MAX_INDENT}] `;

/**
 * One line, at most `max` characters (cut at a character, not inside one): a command as the table shows
 * it. `cutBytes`: the recorded argv is only the head of a command line of that many bytes, which the
 * line then says (after the `max` cut, so it always shows).
 */
export function commandLine(
  argv: string[] | null,
  comm: string | null,
  max = 100,
  cutBytes?: number,
): string {
  const line = shortLine(argv, comm, max);
  return withCutMark(line, cutBytes);
}

function shortLine(argv: string[] | null, comm: string | null, max: number): string {
  // each argument sanitised first, so a tab or newline inside one shows as `\t` / `\n`
  const joined = argv?.length ? argv.map(sanitize).join(" ") : `[${sanitize(comm ?? "?")}]`;
  // whitespace collapsed and trimmed; most lines are tidy already (single spaces between words):
  // tested, not rebuilt (`\s+` matches each single space, and the line was built again)
  const s = UNTIDY.test(joined) ? joined.replace(/\s+/g, " ").trim() : joined;
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** text that collapsing and trimming whitespace would change: whitespace at an end, two together, or not a space */
const UNTIDY = /^\s|\s$|\s\s|[^\S ]/;

/** A run's command; a daemon run has none of its own: it records what its rules match. */
const runCommand = (r: RunRow, max: number) =>
  r.command.length ? commandLine(r.command, null, max) : "(daemon run: processes its rules matched)";

const lossDetail = (r: RunRow) => {
  if (!r.eventsLost && !r.recovered) return "";
  const why = Object.entries(r.lossReasons ?? {}).map(([k, n]) => `${k} ${n}`);
  if (r.recovered) why.push(`${plural(r.recovered, "process", "processes")} recovered from taskstats`);
  return ` (${why.join(", ")}; see docs/CAPTURE.md)`;
};

/**
 * How a run was captured, in words (not sanitised): its mode and what it lost (the report's `capture`
 * line, the HTML report's).
 */
export const captureText = (r: RunRow): string =>
  r.mode === "proc-poll"
    ? `proc-poll: ${POLL_GAPS}, argv lost: ${r.argvLost ?? 0}`
    : `${r.mode}, events lost: ${r.eventsLost}${lossDetail(r)}, argv lost: ${r.argvLost ?? 0}`;

/** A run's status in words: "aborted (SIGINT)" names the signal the run was asked to stop with. */
export const runStatus = (r: Pick<RunRow, "status" | "stopSignal">): string =>
  r.status === "aborted" && r.stopSignal ? `aborted (${signalName(r.stopSignal)})` : r.status;

export function runHeader(r: RunRow, width = Number.POSITIVE_INFINITY): string {
  // a run still recording: the time it has run so far (a newcomer saw `wall -`)
  const wall =
    r.endedAt !== null
      ? seconds((r.endedAt - r.startedAt) * 1000)
      : r.status === "running"
        ? `${seconds(Math.max(0, Date.now() - r.startedAt) * 1000)} so far`
        : "-";
  const lines = [
    `run       ${r.name} (${r.id})`,
    `pipeline  ${r.pipeline}`,
    `command   ${runCommand(r, 200)}`,
    `started   ${when(r.startedAt)} UTC on ${r.host}, wall ${wall}`,
    `status    ${runStatus(r)}, exit ${exitText(r.exitCode, r.signal)}`,
    `capture   ${captureText(r)}`,
    ...(r.captureSkipped ?? []).map((why) => `not used  ${why}`),
  ];
  // wrapped to the width, a value's further lines under its first (the field names take 10 columns)
  const text = lines.map((l) => wrapText(sanitize(l), width, 10)).join("\n");
  // status and exit are tracer's own words: coloured after sanitising
  if (r.status === "aborted")
    return text.replace(/^status {4}(aborted[^,]*),/m, (_, st: string) => `status    ${yellow(st, 1)},`);
  if (r.status !== "failed") return text;
  return text.replace(
    /^status {4}failed, exit (.*)$/m,
    (_, exit: string) => `status    ${red("failed", 1)}, exit ${red(exit, 1)}`,
  );
}

/** What `tracer run`'s closing line needs (a TraceResult fits). */
export interface RunSummary {
  runId: string;
  name: string;
  processes: number;
  mode: string;
  lost: number;
  /** processes of the tree still alive when the run ended (CMD had exited; nobody waited for them) */
  running?: number;
  /** the run's stored wall (ms), as `runs` and `report` show it; else CMD's */
  wallMs?: number;
  child: {
    startedAt: number;
    endedAt: number;
    exitCode?: number;
    signal?: number;
    stopSignal?: number;
    /** what --kill-leftovers signalled */
    leftovers?: LeftoversEnded;
  };
  /** the run's end was written (false: the final write failed); `stored`: its row exists all the same */
  finished?: boolean;
  stored?: boolean;
  /** why stronger capture modes were not used ("source: why"); said after the line in proc-poll mode */
  skipped?: string[];
}

/** where to read the run: its report, or why there is none (the final write failed, said just before) */
const where = (r: RunSummary): string => {
  if (r.finished !== false) return `tracer report ${shortRunId(r.runId)}`;
  return r.stored
    ? `NOT FINISHED: the store could not be written; tracer report ${shortRunId(r.runId)} shows it up to then`
    : "NOT RECORDED: the store could not be written";
};

/**
 * What proc-poll mode cannot see (docs/CAPTURE.md): it reads /proc every 50 ms (src/observe/poll.ts),
 * so it has no events to count as lost — "events lost: 0" read as "complete" (found by a newcomer)
 */
const POLL_GAPS = "a /proc walk every 50 ms, a process that starts and ends between two walks is not seen";

/** What --kill-leftovers did, as a line of its own after the closing line ("" when it had nothing to stop). */
function leftoversLine(l: LeftoversEnded | undefined): string {
  if (!l?.terminated) return "";
  const forked = l.forkedDuringGrace ? ` (${l.forkedDuringGrace} of them forked during it)` : "";
  const kill = l.killed ? `, SIGKILL after the grace to ${l.killed}${forked}` : "";
  const stuck = l.remaining ? `; ${l.remaining} still running after SIGKILL` : "";
  return `\ntracer: --kill-leftovers: CMD left ${plural(l.terminated, "process", "processes")} running; SIGTERM to ${l.terminated}${kill}${stuck}`;
}

/** `tracer run`'s closing line on stderr; the run's name is recorded data, so the line is sanitised. */
export function summaryLine(r: RunSummary): string {
  const wall = seconds((r.wallMs ?? r.child.endedAt - r.child.startedAt) * 1000);
  const loss = r.lost ? `, ${plural(r.lost, "event")} LOST` : "";
  const { exitCode, signal, stopSignal } = r.child;
  const aborted =
    stopSignal && !(exitCode === 0 && signal === undefined) ? `aborted (${signalName(stopSignal)}), ` : "";
  const line = `tracer: run ${r.name}: ${plural(r.processes, "process", "processes")}, ${wall}, ${aborted}exit ${exitText(exitCode, signal)}, capture ${r.mode}${r.mode === "proc-poll" ? " (short processes can be missed)" : ""}${loss} (${where(r)})`;
  // processes CMD left behind run on unrecorded from here (their rows: no end, no status)
  const left = r.running
    ? `\ntracer: ${plural(r.running, "process", "processes")} of the run still running when it ended, no longer recorded (tracer run --kill-leftovers stops them)`
    : "";
  // proc-poll misses short processes: say why nothing better was used (no netlink in this network
  // namespace, a seccomp filter, ...). A connector run without taskstats (not root) is the usual case
  // and is not repeated at every run: its report says it.
  const why =
    r.mode === "proc-poll" && r.skipped?.length
      ? `\n${sanitize(`tracer: capture proc-poll because ${r.skipped.join("; ")}`)}`
      : "";
  return sanitize(line) + why + leftoversLine(r.child.leftovers) + left;
}
