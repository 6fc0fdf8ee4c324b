/**
 * The daemon writes its log to stderr, which the spawner pointed at <state>/daemon.log (O_APPEND).
 * One line per event: ISO time, level, message, then key=value fields. Never pass secrets as fields.
 */
import { writeSync } from "node:fs";

export type Level = "info" | "warn" | "error";

const fmt = (v: unknown) => {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
};

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  const kv = Object.entries(fields)
    .map(([k, v]) => ` ${k}=${fmt(v)}`)
    .join("");
  try {
    writeSync(2, `${new Date().toISOString()} ${level.padEnd(5)} ${message}${kv}\n`);
  } catch {
    // a full disk or a closed log must never take the daemon down
  }
}
