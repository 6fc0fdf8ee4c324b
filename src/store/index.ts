export {
  DB_FILE,
  SCHEMA_VERSION,
  defaultDbPath,
  inTransaction,
  migrate,
  openStore,
  storeExists,
  unlessBusy,
} from "./db.ts";
export {
  type NewRun,
  type RunEnd,
  type RunRow,
  activeRuns,
  autoRunName,
  createRun,
  finishRun,
  findRun,
  isActive,
  countRuns,
  listRuns,
  pipelineRuns,
  processStart,
} from "./runs.ts";
export {
  type ProcessRecord,
  type ProcessRow,
  type Sample,
  type SystemMetrics,
  StoreWriter,
  type ReportProcessRow,
} from "./processes.ts";
export { listProcesses, listReportProcesses } from "./scan.ts";
export {
  type PruneSelection,
  type RemoveResult,
  type RunSummary,
  removeRuns,
  selectPrune,
  storeBytes,
} from "./prune.ts";
