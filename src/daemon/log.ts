/**
 * The daemon writes its log to stderr, which the spawner pointed at <state>/daemon.log (O_APPEND).
 * One line per event: ISO time, level, message, then key=value fields. Never pass secrets as fields.
 */
import { writeSync } from "node:fs";
import { sanitize } from "../core/sanitize.ts";

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
    // one line, whatever a field holds: recorded data (argv, names) is written escaped (src/core/sanitize.ts)
    writeSync(2, `${new Date().toISOString()} ${level.padEnd(5)} ${sanitize(`${message}${kv}`)}\n`);
  } catch {
    // a full disk or a closed log must never take the daemon down
  }
}
