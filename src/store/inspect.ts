/**
 * The store as `tracer doctor` sees it, without changing it. A module of its own: it reads with node:fs,
 * which `tracer run`'s start-up does not load (src/store/db.ts).
 */
import { Database } from "bun:sqlite";
import { accessSync, constants as fsConstants } from "node:fs";
import { MIGRATIONS } from "./_migrations.ts";
import { SCHEMA_VERSION, defaultDbPath, storeFile, versionAndTables } from "./db.ts";

/** What `doctor` says of the store: its schema, or why tracer cannot use it. */
export interface StoreCheck {
  path: string;
  exists: boolean;
  /** PRAGMA user_version: the schema it is at (SCHEMA_VERSION: current; lower: upgraded at its next use) */
  schema?: number;
  problem?: string;
}

/**
 * Look at the store without changing it (no migration, no WAL set-up): whether tracer can read it and
 * record into it. Problems: unsafe (the trust checks every command makes), not readable or not a
 * database, a newer tracer's schema (every command would exit 6), or read-only (tracer run would stop
 * before CMD).
 */
export function inspectStore(path = defaultDbPath()): StoreCheck {
  const shown = { path };
  let file: string | undefined;
  try {
    file = storeFile(path, false);
  } catch (e) {
    return { ...shown, exists: true, problem: (e as Error).message };
  }
  if (!file) return { ...shown, exists: false };
  let schema: number;
  let foreign = false;
  try {
    const db = new Database(file, { readonly: true });
    try {
      ({ v: schema, foreign } = versionAndTables(db));
    } finally {
      db.close();
    }
  } catch (e) {
    return { ...shown, exists: true, problem: `cannot be read: ${(e as Error).message}` };
  }
  if (schema > SCHEMA_VERSION)
    return {
      ...shown,
      exists: true,
      schema,
      problem: `has schema ${schema}, newer than this tracer knows (${SCHEMA_VERSION}): upgrade tracer`,
    };
  if (foreign)
    return {
      ...shown,
      exists: true,
      schema,
      problem: "holds another program's tables, no tracer schema: not a tracer store",
    };
  if (schema < 0 || schema > MIGRATIONS.length)
    return { ...shown, exists: true, schema, problem: `has schema ${schema}: not a tracer store` };
  try {
    accessSync(file, fsConstants.W_OK);
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    return {
      ...shown,
      exists: true,
      schema,
      problem: `is not writable (${code}): tracer run would not start CMD`,
    };
  }
  return { ...shown, exists: true, schema };
}
