/** Text for `tracer run`'s summary, `tracer runs` and the minimal `tracer report`. */
import { bold, plain, red, yellow } from "../core/output.ts";
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

/** Colour for a table on stdout (see core/output.ts): failures red, OOM kills bold red. */
export const paint = {
  failed: (s: string) => red(s, 1),
  oom: (s: string) => bold(red(s, 1), 1),
  warn: (s: string) => yellow(s, 1),
};

/** An exit cell: red unless it is a clean 0, bold red for an OOM kill. */
export function exitCell(code: number | null | undefined, signal: number | null | undefined, oom = false) {
  const text = exitText(code, signal, oom);
  if (oom) return paint.oom(text);
  return text === "0" || text === "?" ? text : paint.failed(text);
}

export function table(head: string[], rows: string[][], rightAligned: Set<number> = new Set()): string {
  // widths of what is seen: colour codes take no columns
  const len = (c: string) => plain(c).length;
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => len(r[i] ?? ""))));
  const fill = (c: string, i: number) => " ".repeat(Math.max(0, w[i]! - len(c)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : rightAligned.has(i) ? fill(c, i) + c : c + fill(c, i)))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}

const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);

export function runsTable(runs: RunRow[]): string {
  const rows = runs.map((r) => [
    r.id.slice(0, 13),
    r.name,
    r.pipeline,
    when(r.startedAt),
    r.endedAt === null ? "-" : seconds((r.endedAt - r.startedAt) * 1000),
    r.status === "failed"
      ? paint.failed(r.status)
      : r.status === "interrupted"
        ? paint.warn(r.status)
        : r.status,
    exitCell(r.exitCode, r.signal),
    String(r.processes),
    runCommand(r, 60),
  ]);
  return table(
    ["ID", "NAME", "PIPELINE", "STARTED (UTC)", "WALL", "STATUS", "EXIT", "PROCS", "COMMAND"],
    rows,
    new Set([4, 7]),
  );
}

/** Processes in tree order: each parent followed by its children, siblings by start time. */
export function treeOrder(procs: ProcessRow[]): { p: ProcessRow; depth: number }[] {
  const ids = new Set(procs.map((p) => p.id));
  const kids = new Map<number | null, ProcessRow[]>();
  for (const p of procs) {
    const parent = p.parentId !== null && ids.has(p.parentId) ? p.parentId : null;
    kids.set(parent, [...(kids.get(parent) ?? []), p]);
  }
  const out: { p: ProcessRow; depth: number }[] = [];
  const walk = (parent: number | null, depth: number) => {
    const list = (kids.get(parent) ?? []).sort(
      (a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.id - b.id,
    );
    for (const p of list) {
      out.push({ p, depth });
      walk(p.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/** One line, at most `max` characters: a command as the table shows it. */
export function commandLine(argv: string[] | null, comm: string | null, max = 100): string {
  const s = (argv?.length ? argv.join(" ") : `[${comm ?? "?"}]`).replace(/\s+/g, " ").trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A run's command; a daemon run has none of its own: it records what its rules match. */
const runCommand = (r: RunRow, max: number) =>
  r.command.length ? commandLine(r.command, null, max) : "(daemon run: processes its rules matched)";

export function processTable(run: RunRow, procs: ProcessRow[]): string {
  const rows = treeOrder(procs).map(({ p, depth }) => [
    String(p.pid),
    p.startedAt === null ? "-" : `+${(Math.max(0, p.startedAt - run.startedAt) / 1000).toFixed(3)}s`,
    seconds(p.durationUs),
    exitCell(p.exitCode, p.signal, p.oomKilled),
    p.userUs === null ? "-" : seconds((p.userUs ?? 0) + (p.systemUs ?? 0)),
    bytes(p.peakRssKb === null ? null : p.peakRssKb * 1024),
    bytes(p.readBytes),
    bytes(p.writeBytes),
    `${"  ".repeat(depth)}${commandLine(p.argv, p.comm)}`,
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
    `status    ${r.status === "failed" ? paint.failed(r.status) : r.status}, exit ${exitCell(r.exitCode, r.signal)}`,
    `capture   ${r.mode}, events lost: ${r.eventsLost}${lossDetail(r)}`,
  ];
  return lines.join("\n");
}
