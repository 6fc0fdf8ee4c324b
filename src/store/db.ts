/**
 * The embedded store: one SQLite file in WAL mode in the state dir. Several writers (runs, the daemon)
 * may share it; each waits up to busy_timeout for the write lock. WAL + synchronous=NORMAL means a
 * killed writer (kill -9) loses nothing it committed and never corrupts the file.
 */
import { Database, constants } from "bun:sqlite";
import { basename, dirname, join } from "../core/path.ts";
import { resolveDirs } from "../core/dirs.ts";
import { privateFile, shownPath, trustDir } from "../core/trusted.ts";
import { Exit, TracerError } from "../errors.ts";
import { MIGRATIONS } from "./_migrations.ts";

export const DB_FILE = "tracer.db";
export const SCHEMA_VERSION = MIGRATIONS.length;

/** how long busy_timeout lets a statement wait for another connection's lock, ms */
const BUSY_MS = 5000;

export const defaultDbPath = () => join(resolveDirs().state, DB_FILE);

export interface OpenOptions {
  readonly?: boolean;
}

/**
 * The file to hand SQLite: in the checked state dir (src/core/trusted.ts), 0600 with its -wal/-shm;
 * undefined when it does not exist and `create` is false. Throws E_DIR_UNSAFE / E_FILE_UNSAFE (exit 3).
 */
export function storeFile(path: string, create: boolean): string | undefined {
  const dir = trustDir(dirname(path), { create });
  return dir && privateFile(dir, basename(path), { create, sqlite: true });
}

/** Is there a store at `path`? Checks its dir like every command does (E_DIR_UNSAFE, exit 3). */
export const storeExists = (path = defaultDbPath()) => storeFile(path, false) !== undefined;

/** Open (creating the state dir and file when needed) and migrate to the current schema. */
export function openStore(path = defaultDbPath(), opts: OpenOptions = {}): Database {
  const file = storeFile(path, !opts.readonly);
  // nothing recorded yet: said as `tracer runs` says it (E_STORE_OPEN all the same: the code is stable)
  if (file === undefined)
    throw new TracerError("E_STORE_OPEN", `no runs recorded yet (${path} does not exist)`, Exit.error, {
      hint: "record one with: tracer run -- CMD",
    });
  let db: Database;
  try {
    db = opts.readonly ? new Database(file, { readonly: true }) : new Database(file, { create: true });
  } catch (e) {
    throw new TracerError(
      "E_STORE_OPEN",
      `cannot open the database ${path}: ${(e as Error).message}`,
      Exit.error,
      { cause: e },
    );
  }
  let v: number;
  let foreign: boolean;
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_MS}`);
    // the first read of the file: SQLite reads its header only now
    ({ v, foreign } = versionAndTables(db));
  } catch (e) {
    db.close();
    throw new TracerError(
      "E_STORE_OPEN",
      `cannot open the database ${shownPath(file as string)}: ${(e as Error).message}`,
      Exit.error,
      {
        cause: e,
        // not for a busy or unreadable file: only when SQLite says what it holds is no (sound) database
        hint: /SQLITE_(NOTADB|CORRUPT)/.test(String((e as { code?: unknown }).code))
          ? "it is not a tracer store or it is damaged: move it aside and tracer starts a new one"
          : undefined,
      },
    );
  }
  if (foreign) {
    db.close();
    notOurs(file as string, FOREIGN);
  }
  if (v < 0) {
    db.close();
    notOurs(file as string, `its schema version ${v} is no tracer's`);
  }
  // a newer tracer's store is refused before anything is written to it
  if (v > SCHEMA_VERSION) {
    db.close();
    tooNew(file as string, v);
  }
  if (!opts.readonly) {
    // Per connection (one call: each is compiled and run all the same). The last writer to close
    // keeps -wal/-shm, the WAL emptied (its checkpoint then truncates it to journal_size_limit 0):
    // the next open finds both instead of creating them, and SQLite no longer unlinks them at every
    // close (~0.3–0.5 ms of each `tracer run`, issue 15). The close still checkpoints, as before.
    db.fileControl(constants.SQLITE_FCNTL_PERSIST_WAL, 1);
    db.exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 0");
    // A store at the current schema is already in WAL mode with incremental auto-vacuum (both stored in
    // the file): nothing to write. Setting auto_vacuum again would rewrite the header page, a write
    // transaction and a WAL sync at every start (issue 15). Reading the journal mode writes nothing; a
    // store taken out of WAL (sqlite3, a reader that created it) is put back.
    try {
      retryBusy(() => {
        if (v !== SCHEMA_VERSION || journalMode(db) !== "wal") {
          // effective only on a new, empty file (before WAL and the first table): `runs prune` reclaims space
          db.exec("PRAGMA auto_vacuum = INCREMENTAL");
          db.exec("PRAGMA journal_mode = WAL");
          migrate(db);
        }
      });
    } catch (e) {
      db.close();
      if (e instanceof TracerError) throw e;
      throw new TracerError(
        "E_STORE_OPEN",
        `cannot set up the database ${shownPath(file as string)}: ${(e as Error).message}`,
        Exit.error,
        { cause: e },
      );
    }
  } else {
    // An older tracer's database: readers need the current columns too, so upgrade it in place once
    // (the migration is what any writer would do next) and read from the migrated file.
    if (v < SCHEMA_VERSION) {
      db.close();
      migrateOlder(file as string, v);
      db = new Database(file as string, { readonly: true });
      db.exec(`PRAGMA busy_timeout = ${BUSY_MS}`);
    }
  }
  return db;
}

function migrateOlder(path: string, from: number) {
  try {
    const rw = new Database(path);
    try {
      rw.exec(`PRAGMA busy_timeout = ${BUSY_MS}`);
      migrate(rw);
    } finally {
      rw.close();
    }
  } catch (e) {
    if (e instanceof TracerError) throw e;
    throw new TracerError(
      "E_STORE_MIGRATE",
      `the database ${shownPath(path)} has schema ${from} (an older tracer's) and cannot be upgraded to ${SCHEMA_VERSION}: ${(e as Error).message}`,
      Exit.error,
      { cause: e, hint: "run tracer as the user that owns the state directory" },
    );
  }
}

/**
 * Run `f` (idempotent), again while SQLite answers SQLITE_BUSY, for up to BUSY_MS: a few statements
 * fail at once instead of waiting for busy_timeout — seen when 8 `tracer run` start together on a new
 * store: "database is locked" from a PRAGMA of the store's set-up in 2 of 2,400 runs.
 */
export function retryBusy(f: () => void): void {
  const deadline = Date.now() + BUSY_MS;
  for (;;) {
    try {
      f();
      return;
    } catch (e) {
      if (!String((e as { code?: unknown }).code).startsWith("SQLITE_BUSY") || Date.now() >= deadline)
        throw e;
      Bun.sleepSync(5);
    }
  }
}

/**
 * Run `f` without waiting for another writer's lock: SQLITE_BUSY at once instead of after
 * busy_timeout (5 s). Returns false when the store was busy; other errors are thrown.
 */
export function unlessBusy(db: Database, f: () => void): boolean {
  db.exec("PRAGMA busy_timeout = 0");
  try {
    f();
    return true;
  } catch (e) {
    if ((e as { code?: unknown }).code === "SQLITE_BUSY") return false;
    throw e;
  } finally {
    db.exec(`PRAGMA busy_timeout = ${BUSY_MS}`);
  }
}

/**
 * Run `f` in one deferred transaction (BEGIN … COMMIT; ROLLBACK and rethrow when `f` or the commit
 * throws). Nested in an open transaction, `f` simply runs in it. What bun:sqlite's `db.transaction()`
 * does, without its first call compiling nine statements (BEGIN in four modes, COMMIT, ROLLBACK and
 * three for savepoints): ~0.15 ms of a `tracer run -- true`, which commits once (issue 15).
 */
export function inTransaction<T>(db: Database, f: () => T): T {
  if (db.inTransaction) return f();
  db.exec("BEGIN");
  try {
    const out = f();
    db.exec("COMMIT");
    return out;
  } catch (e) {
    // a failed COMMIT (SQLITE_BUSY) leaves the transaction open; other errors may have ended it
    if (db.inTransaction)
      try {
        db.exec("ROLLBACK");
      } catch {}
    throw e;
  }
}

export const userVersion = (db: Database) =>
  (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;

/**
 * The schema version and whether the file is some other program's database: at version 0 (no tracer
 * schema yet) it holds tables, views, indexes or triggers all the same (a tracer store is empty until
 * its first migration); at a version above 0 (many programs set user_version) it lacks tracer's runs or
 * processes table, which the first migration made (an attack: at 3 the set-up switched such a file to
 * WAL before failing on "no such table: runs"). One statement, one read: a concurrent first migration is seen whole or not at
 * all. Such a file is never migrated: tracer's tables would be written into it (found by a newcomer:
 * `tracer runs` turned a notes database into a tracer store).
 */
export function versionAndTables(db: Database): { v: number; foreign: boolean } {
  const r = db
    .query(
      `SELECT (SELECT user_version FROM pragma_user_version) AS v, count(*) AS n,
         count(*) FILTER (WHERE type = 'table' AND name IN ('runs', 'processes')) AS ours FROM sqlite_master`,
    )
    .get() as { v: number; n: number; ours: number };
  // (a newer tracer's schema is its own business: refused as newer, whatever its tables)
  return { v: r.v, foreign: r.v === 0 ? r.n > 0 : r.v > 0 && r.v <= SCHEMA_VERSION && r.ours < 2 };
}

const FOREIGN = "it holds another program's tables, no tracer schema";

/** E_STORE_OPEN for a file whose schema is no tracer's (a negative version, or foreign tables). */
const notOurs = (path: string, why: string): never => {
  throw new TracerError("E_STORE_OPEN", `cannot open the database ${shownPath(path)}: ${why}`, Exit.error, {
    hint: "it is not a tracer store: move it aside and tracer starts a new one",
  });
};

const journalMode = (db: Database) =>
  (db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;

const tooNew = (path: string, v: number) => {
  throw new TracerError(
    "E_STORE_VERSION",
    `the database ${shownPath(path)} has schema ${v}, newer than this tracer knows (${SCHEMA_VERSION})`,
    Exit.versionMismatch,
    { hint: "upgrade tracer" },
  );
};

/** Apply every pending migration, each in its own immediate transaction (safe against a concurrent opener). */
export function migrate(db: Database): number {
  for (;;) {
    const applied = db
      .transaction(() => {
        const { v, foreign } = versionAndTables(db);
        if (foreign) notOurs(db.filename, FOREIGN);
        if (v > SCHEMA_VERSION) tooNew(db.filename, v);
        if (v === SCHEMA_VERSION) return false;
        db.exec(MIGRATIONS[v]!);
        db.exec(`PRAGMA user_version = ${v + 1}`);
        return true;
      })
      .immediate();
    if (!applied) return userVersion(db);
  }
}
