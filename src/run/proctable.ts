/**
 * `tracer report`'s process table: the process tree, each step's subtree collapsed into one row by
 * default, cut to a row budget, a depth and the terminal's width. Streams like writeTable: the rows
 * shown are kept as indices into the tree order (one number each), never as text.
 */
import { FIGURES_LEFT_OUT_FIRST, FIGURE_HEADS, stepFigureCells } from "../report/table.ts";
import type { Step, StepColumns } from "../steps/index.ts";
import { rowOf } from "../steps/_rollup.ts";
import { indexOfIds, preorderOf, walkDepths } from "../steps/_tree.ts";
import type { RunRow } from "../store/index.ts";
import { type TableProcess, commandLine, indent, treeOrder } from "./format.ts";
import { type Cell, exitCell, hiddenNote, writeTable } from "./table.ts";
import { bytes, cpuText, seconds } from "./units.ts";

/**
 * What the table shows. `processes`: "all" every process; "steps" the tree with each step's processes
 * folded into its root's row (the step's figures, `[label] command (+K processes)`); a number N: the
 * tree, at most N process rows. `depth`: processes deeper than this are not shown (0: the run's root).
 * `limit`: in "steps" mode, at most this many rows (hidden ones are counted). `width`: the widest a line
 * may be, in terminal columns (the COMMAND column is cut); Infinity for no limit.
 */
export interface ProcessTableOptions {
  processes?: "all" | "steps" | number;
  depth?: number;
  limit?: number;
  width?: number;
  /** the run's steps and their display labels (same index), for "steps" */
  steps?: Step[];
  labels?: string[];
}

/** Rows of "steps" mode when no --processes is given: with up to 20 steps the report fits in 60 lines. */
export const STEPS_MODE_ROWS = 24;

const HEAD = ["PID", ...FIGURE_HEADS, "COMMAND"];
const RIGHT = new Set([0, 1, 2, 4, 5, 6, 7, 8, 9]);
/** the columns of tracer's own text (OWN_TEXT): all but COMMAND */
const OWN = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

/** A row hidden from view: `count` processes at `depth` and below, summed into one "… K more" line. */
interface Hidden {
  depth: number;
  count: number;
}

/**
 * The process table written in chunks to `out` (see writeTable); returns how many processes have a row
 * of their own (`listed`; a folded step's row counts one) and how many there are, so the caller can
 * say what was left out.
 */
export function writeProcessTable(
  run: RunRow,
  procs: TableProcess[] | StepColumns,
  out: (chunk: string) => void,
  opts: ProcessTableOptions = {},
): { listed: number; total: number } {
  const { order, depth } = Array.isArray(procs) ? listOrder(procs) : columnsOrder(procs);
  const mode = opts.processes ?? "all";
  const maxDepth = opts.depth ?? Number.POSITIVE_INFINITY;
  const cap =
    typeof mode === "number" ? mode : mode === "steps" ? (opts.limit ?? Number.POSITIVE_INFINITY) : Infinity;
  // by position in the tree order, typed arrays (no Map or Set of 100,000 ids): the index in opts.steps
  // of the step a process is the root of (-1: none), and whether it is counted in its step's row
  const at = indexOfIds(order.length, order.id);
  const stepAt = new Int32Array(order.length).fill(-1);
  // every process is in exactly one step (src/steps); a step's other processes are counted in its
  // root's row, while a step nested below it (its own processes) still gets its own row
  const inStep = new Uint8Array(order.length);
  if (mode === "steps")
    opts.steps?.forEach((s, k) => {
      const root = at(s.rootId);
      if (root >= 0) stepAt[root] = k;
      // most steps are one process: nothing to mark
      if (s.processIds.length > 1)
        for (const id of s.processIds) {
          const j = id === s.rootId ? -1 : at(id);
          if (j >= 0) inStep[j] = 1;
        }
    });
  // rows: k ≥ 0 is order[k]; -(j + 1) is hidden[j]
  const rows: number[] = [];
  const hidden: Hidden[] = [];
  let hiddenRun = 0;
  let runDepth = 0;
  const flush = () => {
    if (!hiddenRun) return;
    rows.push(-(hidden.length + 1));
    hidden.push({ depth: runDepth, count: hiddenRun });
    hiddenRun = 0;
  };
  let rowsShown = 0;
  for (let k = 0; k < order.length; k++) {
    const d = depth[k]!;
    if (inStep[k]) continue; // counted in its step's row
    if (d > maxDepth || rowsShown >= cap) {
      if (!hiddenRun || d < runDepth) runDepth = d;
      hiddenRun++;
      continue;
    }
    flush();
    rows.push(k);
    rowsShown++;
  }
  flush();
  const since = (at: number | null) =>
    at === null ? "-" : `+${(Math.max(0, at - run.startedAt) / 1000).toFixed(3)}s`;
  const width = opts.width ?? Number.POSITIVE_INFINITY;
  const cmdMax = Number.isFinite(width) ? Math.max(100, width) : 1 << 20;
  /**
   * Row i's cells; `withCommand` false: all but the COMMAND cell (writeTable's width pass measures no
   * other), from the process's figures alone: its command line is neither parsed nor cleaned
   */
  const cellsAt = (i: number, withCommand: boolean): Cell[] => {
    const k = rows[i]!;
    if (k < 0) {
      const h = hidden[-k - 1]!;
      return ["", "", "", "", "", "", "", "", "", "", `${indent(h.depth)}… ${h.count} more`];
    }
    const p = withCommand ? order.row(k) : order.figures(k);
    const si = stepAt[k]! >= 0 ? stepAt[k]! : undefined;
    const cmd = withCommand
      ? commandLine(p.argv, p.comm, cmdMax, p.argvTruncated ? (p.argvBytes ?? undefined) : undefined)
      : "";
    if (si !== undefined) {
      const s = opts.steps![si]!;
      const more = s.processIds.length - 1;
      const cells: Cell[] = [
        String(p.pid),
        since(s.startedAt),
        s.durationMs === null ? "-" : seconds(s.durationMs * 1000),
        exitCell(s.exitCode, s.signal, s.oomKilled),
        ...stepFigureCells(s),
      ];
      if (withCommand)
        cells.push(
          `${indent(depth[k]!)}[${opts.labels?.[si] ?? s.name}] ${more ? `(+${more} ${more === 1 ? "process" : "processes"}) ` : ""}${cmd}`,
        );
      return cells;
    }
    const cells: Cell[] = [
      String(p.pid),
      since(p.startedAt),
      seconds(p.durationUs),
      exitCell(p.exitCode, p.signal, p.oomKilled),
      p.userUs === null ? "-" : cpuText((p.userUs ?? 0) + (p.systemUs ?? 0)),
      bytes(p.peakRssKb === null ? null : p.peakRssKb * 1024),
      bytes(p.rchar),
      bytes(p.wchar),
      bytes(p.readBytes),
      bytes(p.writeBytes),
    ];
    if (withCommand) cells.push(`${indent(depth[k]!)}${cmd}`);
    return cells;
  };
  // writeTable keeps no row between its two passes: each holds a whole command line, and 100,000 of
  // them kept took a --processes all report of 100k processes past 200 MB; its width pass makes each
  // row without its command line (100,000 rows: each parsed from JSON once, not twice)
  const leftOut = writeTable(
    HEAD,
    rows.length,
    (i) => cellsAt(i, true),
    RIGHT,
    out,
    width,
    undefined,
    OWN,
    (i) => cellsAt(i, false),
    FIGURES_LEFT_OUT_FIRST,
  );
  out(hiddenNote(leftOut, width));
  return { listed: rowsShown, total: order.length };
}

/** The processes in tree order (src/run/format.ts treeOrder): by position, each one's row id and row. */
interface TreeRows {
  length: number;
  id: (k: number) => number;
  row: (k: number) => TableProcess;
  /** row(k) but for its command line (argv and comm null): nothing parsed */
  figures: (k: number) => TableProcess;
}

function listOrder(procs: TableProcess[]): { order: TreeRows; depth: Int32Array } {
  const { order, depth } = treeOrder(procs);
  const row = (k: number) => order[k]!;
  return { order: { length: order.length, id: (k) => order[k]!.id, row, figures: row }, depth };
}

/**
 * Processes given as columns (src/steps/_columns.ts, in start order as the store reads them) in tree
 * order: a row is made only for a process shown (a 24-row table of 100,000 processes makes 24).
 */
function columnsOrder(c: StepColumns): { order: TreeRows; depth: Int32Array } {
  const at = preorderOf(c).order;
  return {
    order: {
      length: at.length,
      id: (k) => c.id[at[k]!]!,
      row: (k) => rowOf(c, at[k]!),
      figures: (k) => rowOf(c, at[k]!, false),
    },
    depth: walkDepths(c, at),
  };
}

/** The whole process table as one string (no trailing newline), every process by default. */
export function processTable(run: RunRow, procs: TableProcess[], opts: ProcessTableOptions = {}): string {
  const parts: string[] = [];
  writeProcessTable(run, procs, (c) => parts.push(c), opts);
  return parts.join("").slice(0, -1);
}
