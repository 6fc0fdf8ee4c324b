/** Reports: a run's steps and totals as table | json | csv | nextflow | html. */
import { renderCsv } from "./csv.ts";
import { renderHtml } from "./html.ts";
import { renderJson } from "./json.ts";
import { renderNextflow } from "./nextflow.ts";
import { renderTable } from "./table.ts";
import type { Format, Report } from "./types.ts";

export { buildReport, totals, type ReportInput } from "./build.ts";
export { loadReport, loadRun } from "./load.ts";
export { FORMATS, type Format, type Report, type Totals } from "./types.ts";
export { NEXTFLOW_COLUMNS } from "./nextflow.ts";
export { SCHEMA_ID, reportJson } from "./json.ts";

const RENDER: Record<Format, (r: Report) => string> = {
  table: renderTable,
  json: renderJson,
  csv: renderCsv,
  nextflow: renderNextflow,
  html: renderHtml,
};

export const renderReport = (r: Report, format: Format): string => RENDER[format](r);
