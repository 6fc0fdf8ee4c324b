/** OTLP export: configuration, encoding, the durable outbox and the exporter. */
export {
  type OtlpConfig,
  type OtlpFlags,
  type Signal,
  describeOtlp,
  otlpForCommand,
  parseHeaders,
  resolveOtlpConfig,
} from "./config.ts";
export { Exporter, type ExporterOptions } from "./exporter.ts";
export {
  type ExportSummary,
  OUTBOX_FILE,
  defaultOutboxPath,
  exportStoredRun,
  summaryLine,
} from "./from-store.ts";
export { metricsRequest, systemMetrics } from "./metrics.ts";
export { processSpan, runResource, runSpan, runSpans, spanIdOf, traceIdOf, traceRequest } from "./otlp.ts";
export { Outbox, type OutboxStats } from "./outbox.ts";
export type { ExportOptions, ExportProcess, ExportRun, ExportSystemSample } from "./types.ts";
