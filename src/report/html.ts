/**
 * The HTML report: one self-contained file — inline CSS and SVG, no script, no external resource (a CSP
 * forbids any) — with the steps' timeline, per-step CPU and peak-memory bars, the host's CPU/memory
 * plot, failures in red, the totals and a summary table.
 */
import { captureText, commandLine } from "../run/format.ts";
import { bytes, cpuText, exitText, seconds } from "../run/units.ts";
import { maxOf, minOf } from "../steps/_rollup.ts";
import { historySection } from "./_history.ts";
import { esc, gantt, stepBars, systemPlot } from "./_svg.ts";
import type { Step } from "../steps/index.ts";
import { stepLabels } from "./_labels.ts";
import { MAX_TREE_STEPS } from "./_top.ts";
import { peakLegends, peakText, startOffset, stepBytes, stepCpu, stepPeak, sumText } from "./table.ts";
import type { Report } from "./types.ts";

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d232a;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.sub{color:#58636f;font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:14px}
.card{border:1px solid #d8dee4;border-radius:6px;padding:8px 12px;min-width:110px}
.card b{display:block;font-size:18px}.card span{color:#58636f;font-size:12px}
.card.bad{border-color:#d1242f;color:#d1242f}
svg text{font-size:11px;fill:#1d232a}svg .tick{fill:#6e7781}svg .grid{stroke:#eaeef2}
.bar{fill:#2f81f7}.extent{fill:#8c959f}.metric{fill:#8250df}#mem-bars .metric{fill:#1a7f37}.failed{fill:#d1242f!important}
polyline{fill:none;stroke-width:1.5}polyline.cpu{stroke:#2f81f7}polyline.mem{stroke:#1a7f37}.dot.cpu{fill:#2f81f7}.dot.mem{fill:#1a7f37}
.legend.cpu{fill:#2f81f7}.legend.mem{fill:#1a7f37}
table{border-collapse:collapse;font-size:12px}th,td{padding:4px 8px;border-bottom:1px solid #eaeef2;text-align:right}
th:last-child,td:last-child,th:nth-child(2),td:nth-child(2){text-align:left}
tr.failed td{background:#ffebe9;color:#a40e26}.empty,.legend{color:#58636f}
details.cmd summary{cursor:pointer;list-style-position:inside}details.cmd[open] summary{color:#58636f}
.tick.mem{fill:#1a7f37}
#tree details{margin:2px 0}#tree summary{cursor:pointer}#tree summary.failed{color:#a40e26}
#tree ul{margin:2px 0 6px;padding-left:18px;list-style:none;font-family:ui-monospace,monospace;font-size:12px}
#tree li span{color:#58636f}#tree li.more{color:#58636f;font-style:italic}
`;

/**
 * Characters of a command shown before it is folded; of a folded one, the most kept in the file: the
 * run's command whole up to 64 Ki characters, a step's up to 8,000 (600 steps stay a few MB at worst).
 */
export const COMMAND_SHOWN = 160;
export const RUN_COMMAND_KEPT = 1 << 16;
export const STEP_COMMAND_KEPT = 8000;

/**
 * A command, folded when long: `<details>` with its first COMMAND_SHOWN characters as the summary and
 * the text (up to `max` characters; all of it: tracer report --json) on demand — no script.
 */
export function folded(text: string, max = STEP_COMMAND_KEPT, cls = "sub"): string {
  if (text.length <= COMMAND_SHOWN) return `<span class="${cls}">${esc(text)}</span>`;
  const kept =
    text.length > max
      ? `${text.slice(0, max)} … (${text.length - max} more characters: tracer report --json)`
      : text;
  return `<details class="cmd ${cls}"><summary>${esc(text.slice(0, COMMAND_SHOWN))}… (${text.length} characters)</summary>${esc(kept)}</details>`;
}

const card = (label: string, value: string, bad = false) =>
  `<div class="card${bad ? " bad" : ""}"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;

/** Past these, the charts and the table show the first steps only (the file stays well under 1 MB);
 * every step is in --format json / csv / nextflow. */
export const MAX_CHART_STEPS = 300;
export const MAX_TABLE_STEPS = 600;

/** At most n steps: every failed one first, then the earliest others, back in start order. */
function pick(steps: Step[], n: number): Step[] {
  if (steps.length <= n) return steps;
  const failed = steps.filter((s) => s.failed).slice(0, n);
  const others = steps.filter((s) => !s.failed).slice(0, n - failed.length);
  return [...failed, ...others].sort((a, b) => a.index - b.index);
}

/** The process tree by step: each step folded, its heaviest processes inside, the rest counted. */
function processTree(r: Report, labels: string[]): string {
  const top = r.top;
  if (!top || !r.steps.length) return `<p class="empty">No step was recognized in this run.</p>`;
  const items = r.steps.slice(0, MAX_TREE_STEPS).map((s, i) => {
    const t = top[i]!;
    const rows = t.processes.map((p, k) => {
      const cpu = p.userUs === null ? "-" : cpuText((p.userUs ?? 0) + (p.systemUs ?? 0));
      const rss = bytes(p.peakRssKb === null ? null : p.peakRssKb * 1024);
      const exit = exitText(p.exitCode, p.signal, p.oomKilled);
      return `<li style="margin-left:${t.depth[k]! * 14}px">${esc(String(p.pid))} ${esc(commandLine(p.argv, p.comm, 200, p.argvTruncated ? (p.argvBytes ?? undefined) : undefined))} <span>CPU ${esc(cpu)}, peak ${esc(rss)}, exit ${esc(exit)}</span></li>`;
    });
    if (t.more)
      rows.push(`<li class="more">… and ${t.more} more ${t.more === 1 ? "process" : "processes"}</li>`);
    const head = `${s.index}. ${labels[i]} — ${s.processIds.length} ${s.processIds.length === 1 ? "process" : "processes"}, CPU ${stepCpu(s)}, peak ${stepPeak(s)}${s.failed ? `, FAILED ${exitText(s.exitCode, s.signal, s.oomKilled)}` : ""}`;
    return `<details><summary${s.failed ? ' class="failed"' : ""}>${esc(head)}</summary><ul>${rows.join("")}</ul></details>`;
  });
  const cut =
    r.steps.length > MAX_TREE_STEPS
      ? `<p class="empty">${MAX_TREE_STEPS} of ${r.steps.length} steps; all of them: tracer report --format csv.</p>`
      : "";
  return `<div id="tree">${items.join("")}</div>${cut}`;
}

export function renderHtml(r: Report): string {
  const { run, totals: t } = r;
  const labels = stepLabels(r.steps);
  const label = new Map(r.steps.map((s, i) => [s, labels[i]!]));
  const steps = pick(r.steps, MAX_CHART_STEPS);
  const names = steps.map((s) => label.get(s)!);
  const n = t.processes;
  const memory = r.memory?.length
    ? { label: "the run's memory (summed RSS)", points: r.memory.map((m) => ({ at: m.at, kb: m.rssKb })) }
    : {
        label: "host memory in use",
        points: r.system.flatMap((p) => (p.memUsedKb === null ? [] : [{ at: p.at, kb: p.memUsedKb }])),
      };
  const t0 = minOf([run.startedAt, ...steps.map((s) => s.startedAt)]);
  const ends = [
    run.endedAt ?? 0,
    ...steps.map((s) => s.endedAt ?? s.startedAt),
    ...r.system.map((p) => p.at),
  ];
  const t1 = maxOf(ends, t0 + 1);
  const cards = [
    card("wall time", t.wallMs === null ? "running" : seconds(t.wallMs * 1000)),
    card("CPU time", sumText(Math.round(t.cpuHours * 3.6e9), t.unknown.cpu, n, cpuText)),
    card("peak memory", n > 0 && t.unknown.peakRss >= n && t.peakRssKb === 0 ? "-" : peakText(t)),
    card(
      `read (disk ${sumText(t.readBytes, t.unknown.readBytes, n, bytes)})`,
      sumText(t.rchar, t.unknown.rchar, n, bytes),
    ),
    card(
      `written (disk ${sumText(t.writeBytes, t.unknown.writeBytes, n, bytes)})`,
      sumText(t.wchar, t.unknown.wchar, n, bytes),
    ),
    card("steps", String(t.steps)),
    card("failed steps", String(t.failedSteps), t.failedSteps > 0),
    ...(t.cost === null ? [] : [card(`cost at ${t.pricePerHour}/h`, t.cost.toFixed(4))]),
  ];
  const rows = r.steps
    .slice(0, MAX_TABLE_STEPS)
    .map(
      (s, i) =>
        `<tr class="${s.failed ? "failed" : "ok"}"><td>${s.index}</td><td>${esc(labels[i]!)}</td><td>${esc(s.kind)}</td><td>${esc(startOffset(s.startedAt, run.startedAt).slice(1))}</td><td>${s.durationMs === null ? "-" : esc(seconds(s.durationMs * 1000))}</td><td>${esc(stepCpu(s))}</td><td>${esc(stepPeak(s))}</td><td>${esc(stepBytes(s, "rchar"))}</td><td>${esc(stepBytes(s, "wchar"))}</td><td>${esc(stepBytes(s, "readBytes"))}</td><td>${esc(stepBytes(s, "writeBytes"))}</td><td>${esc(exitText(s.exitCode, s.signal, s.oomKilled))}</td><td>${folded(s.command)}</td></tr>`,
    );
  const none = `<p class="empty">No step was recognized in this run (see docs/RULES.md).</p>`;
  const cut = (n: number) =>
    r.steps.length > n
      ? `<p class="empty">${n} of ${r.steps.length} steps (every failed one, then the first); all of them: tracer report --format csv.</p>`
      : "";
  const body = [
    `<h1>${esc(run.name)} <span class="sub">${esc(run.status)}, exit ${esc(exitText(run.exitCode, run.signal))}</span></h1>`,
    `<div>${folded(run.command.join(" ") || "(daemon run: processes its rules matched)", RUN_COMMAND_KEPT)}</div>`,
    `<div class="sub">${esc(new Date(run.startedAt).toISOString())} on ${esc(run.host)} · run ${esc(run.id)} · pipeline ${esc(run.pipeline)}</div>`,
    // how it was captured, and why no stronger mode was used, as the table's header says it
    `<div class="sub">capture ${esc(captureText(run))}</div>`,
    ...(run.captureSkipped ?? []).map((why) => `<div class="sub">not used: ${esc(why)}</div>`),
    `<div class="cards">${cards.join("")}</div>`,
    `<h2>Timeline</h2>`,
    steps.length ? gantt(steps, t0, t1, names) + cut(MAX_CHART_STEPS) : none,
    `<h2>CPU time per step</h2>`,
    steps.length
      ? stepBars(
          "cpu-bars",
          steps,
          (s) => s.cpuUs,
          (v) => cpuText(v),
          names,
        )
      : none,
    `<h2>Peak memory per step</h2>`,
    steps.length
      ? stepBars(
          "mem-bars",
          steps,
          (s) => s.peakRssKb * 1024,
          (v) => bytes(v),
          names,
        )
      : none,
    `<h2>Host CPU and memory</h2>`,
    r.system.length || memory.points.length
      ? systemPlot(r.system, memory.points, memory.label, t0, t1)
      : `<p class="empty">No system metrics were recorded.</p>`,
    historySection(r),
    `<h2>Processes by step</h2>`,
    processTree(r, labels),
    `<h2>Steps</h2>`,
    `<table id="steps"><thead><tr><th>#</th><th>step</th><th>kind</th><th>start</th><th>wall</th><th>CPU</th><th>peak RSS</th><th>read</th><th>written</th><th>disk read</th><th>disk written</th><th>exit</th><th>command</th></tr></thead><tbody>${rows.join("")}</tbody></table>${cut(MAX_TABLE_STEPS)}`,
    ...peakLegends(r.steps).map((l) => `<p class="legend">${esc(l)}</p>`),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tracer report: ${esc(run.name)}</title><style>${CSS}</style></head>
<body>
${body.join("\n")}
</body></html>
`;
}
