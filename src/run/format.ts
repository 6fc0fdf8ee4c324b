/** Text for `tracer run`'s summary, `tracer runs` and the minimal `tracer report`. */
import type { ProcessRow, RunRow } from "../store/index.ts";

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(v < 10 ? 1 : 0)}${units[i]}`;
}

export function seconds(us: number | null | undefined): string {
  if (us === null || us === undefined) return "-";
  const s = us / 1e6;
  return s < 10 ? `${s.toFixed(3)}s` : s < 600 ? `${s.toFixed(1)}s` : `${Math.round(s)}s`;
}

export function exitText(
  code: number | null | undefined,
  signal: number | null | undefined,
  oom = false,
): string {
  if (oom) return "OOM killed";
  if (signal !== null && signal !== undefined) return `signal ${signal}`;
  if (code !== null && code !== undefined) return String(code);
  return "?";
}

/**
 * Columns padded to their widest cell; the last column is not padded. Every cell of every table passes
 * through here (one place to clean cell text). Linear in the number of cells, no spread of rows.
 */
export function table(head: string[], rows: string[][], rightAligned: Set<number> = new Set()): string {
  const w = head.map((h) => h.length);
  for (const r of rows)
    for (let i = 0; i < w.length; i++) {
      const n = (r[i] ?? "").length;
      if (n > w[i]!) w[i] = n;
    }
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : rightAligned.has(i) ? c.padStart(w[i]!) : c.padEnd(w[i]!)))
      .join("  ")
      .trimEnd();
  const out = new Array<string>(rows.length + 1);
  out[0] = line(head);
  for (let i = 0; i < rows.length; i++) out[i + 1] = line(rows[i]!);
  return out.join("\n");
}

const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);

export function runsTable(runs: RunRow[]): string {
  const rows = runs.map((r) => [
    r.id.slice(0, 13),
    r.name,
    r.pipeline,
    when(r.startedAt),
    r.endedAt === null ? "-" : seconds((r.endedAt - r.startedAt) * 1000),
    r.status,
    exitText(r.exitCode, r.signal),
    String(r.processes),
    runCommand(r, 60),
  ]);
  return table(
    ["ID", "NAME", "PIPELINE", "STARTED (UTC)", "WALL", "STATUS", "EXIT", "PROCS", "COMMAND"],
    rows,
    new Set([4, 7]),
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
>;

const byStart = (a: TableProcess, b: TableProcess) => (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.id - b.id;

/**
 * Processes in tree order: each parent followed by its children, siblings by start time. Iterative
 * (a chain of processes can be 100,000 deep) and linear apart from sorting each sibling list once.
 */
export function treeOrder<P extends TableProcess>(procs: P[]): { p: P; depth: number }[] {
  const ids = new Set<number>();
  for (const p of procs) ids.add(p.id);
  const roots: P[] = [];
  const kids = new Map<number, P[]>();
  for (const p of procs) {
    if (p.parentId === null || !ids.has(p.parentId)) roots.push(p);
    else {
      const list = kids.get(p.parentId);
      if (list) list.push(p);
      else kids.set(p.parentId, [p]);
    }
  }
  const out: { p: P; depth: number }[] = [];
  // depth-first with an explicit stack; each list pushed in reverse so the earliest sibling comes first
  const stack: { p: P; depth: number }[] = [];
  const pushAll = (list: P[], depth: number) => {
    list.sort(byStart);
    for (let i = list.length - 1; i >= 0; i--) stack.push({ p: list[i]!, depth });
  };
  pushAll(roots, 0);
  for (let top = stack.pop(); top; top = stack.pop()) {
    out.push(top);
    const list = kids.get(top.p.id);
    if (list) pushAll(list, top.depth + 1);
  }
  return out;
}

/** Deeper than this, the COMMAND column is not indented further: the depth is shown as `[+N]`. */
export const MAX_INDENT = 32;
const INDENT = "  ".repeat(MAX_INDENT);
/** The COMMAND column's indentation for a depth: two spaces a level, capped at MAX_INDENT levels. */
export const indent = (depth: number) =>
  depth <= MAX_INDENT ? INDENT.slice(0, 2 * depth) : `${INDENT}[+${depth - MAX_INDENT}] `;

/** One line, at most `max` characters: a command as the table shows it. */
export function commandLine(argv: string[] | null, comm: string | null, max = 100): string {
  const s = (argv?.length ? argv.join(" ") : `[${comm ?? "?"}]`).replace(/\s+/g, " ").trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A run's command; a daemon run has none of its own: it records what its rules match. */
const runCommand = (r: RunRow, max: number) =>
  r.command.length ? commandLine(r.command, null, max) : "(daemon run: processes its rules matched)";

export function processTable(run: RunRow, procs: TableProcess[]): string {
  const rows = treeOrder(procs).map(({ p, depth }) => [
    String(p.pid),
    p.startedAt === null ? "-" : `+${(Math.max(0, p.startedAt - run.startedAt) / 1000).toFixed(3)}s`,
    seconds(p.durationUs),
    exitText(p.exitCode, p.signal, p.oomKilled),
    p.userUs === null ? "-" : seconds((p.userUs ?? 0) + (p.systemUs ?? 0)),
    bytes(p.peakRssKb === null ? null : p.peakRssKb * 1024),
    bytes(p.readBytes),
    bytes(p.writeBytes),
    `${indent(depth)}${commandLine(p.argv, p.comm)}`,
  ]);
  return table(
    ["PID", "START", "WALL", "EXIT", "CPU", "PEAK RSS", "READ", "WRITE", "COMMAND"],
    rows,
    new Set([0, 1, 2, 4, 5, 6, 7]),
  );
}

const lossDetail = (r: RunRow) => {
  if (!r.eventsLost && !r.recovered) return "";
  const why = Object.entries(r.lossReasons ?? {}).map(([k, n]) => `${k} ${n}`);
  if (r.recovered) why.push(`${r.recovered} processes recovered from taskstats`);
  return ` (${why.join(", ")}; see docs/CAPTURE.md)`;
};

export function runHeader(r: RunRow): string {
  const wall = r.endedAt === null ? "-" : seconds((r.endedAt - r.startedAt) * 1000);
  const lines = [
    `run       ${r.name} (${r.id})`,
    `pipeline  ${r.pipeline}`,
    `command   ${runCommand(r, 200)}`,
    `started   ${when(r.startedAt)} UTC on ${r.host}, wall ${wall}`,
    `status    ${r.status}, exit ${exitText(r.exitCode, r.signal)}`,
    `capture   ${r.mode}, events lost: ${r.eventsLost}${lossDetail(r)}`,
  ];
  return lines.join("\n");
}
