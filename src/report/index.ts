/** Reports: a run's steps and totals as table | json | csv | nextflow | html. */
import { renderCsv, writeCsv } from "./csv.ts";
import { renderHtml } from "./html.ts";
import { renderJson, writeJson } from "./json.ts";
import { renderNextflow, writeNextflow } from "./nextflow.ts";
import { renderTable, writeReportTable } from "./table.ts";
import type { Format, Report } from "./types.ts";

export { buildReport, totals, type ReportInput } from "./build.ts";
export { loadReport, loadRun } from "./load.ts";
export { FORMATS, type Format, type Report, type Totals } from "./types.ts";
export { NEXTFLOW_COLUMNS } from "./nextflow.ts";
export { SCHEMA_ID, reportJson } from "./json.ts";

const RENDER: Record<Format, (r: Report, width: number) => string> = {
  table: renderTable,
  json: renderJson,
  csv: renderCsv,
  nextflow: renderNextflow,
  html: renderHtml,
};

/** The report as one string; `width`: the table's (terminal columns; the other formats take none). */
export const renderReport = (r: Report, format: Format, width = Number.POSITIVE_INFINITY): string =>
  RENDER[format](r, width);

const WRITE: Record<Format, (r: Report, out: (chunk: string) => void) => void> = {
  table: (r, out) => writeReportTable(r, out),
  json: writeJson,
  csv: writeCsv,
  nextflow: writeNextflow,
  html: (r, out) => out(renderHtml(r)),
};

/** The report written in chunks to `out` (a 100,000-step JSON report is never one string): renderReport's text. */
export const writeReport = (r: Report, format: Format, out: (chunk: string) => void): void =>
  WRITE[format](r, out);
