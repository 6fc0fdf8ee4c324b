/**
 * `tracer doctor` looks at the store, without changing it: a store every command would refuse (a newer
 * tracer's schema: exit 6; not a database) or one tracer run cannot record into (read-only) is a problem
 * (exit 1), where doctor said "state ok" before (found by a newcomer). An older schema is fine and is
 * left as it is: doctor migrates nothing.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS } from "../../src/store/_migrations.ts";
import { SCHEMA_VERSION, openStore } from "../../src/store/index.ts";
import { BIN, cleanupTemp, isolatedEnv } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const doctor = (env: Record<string, string>) => {
  const p = Bun.spawnSync([BIN, "doctor", "--json"], { env, stdout: "pipe", stderr: "pipe" });
  return {
    code: p.exitCode,
    r: JSON.parse(p.stdout.toString()) as { ok: boolean; store: Record<string, unknown> },
  };
};
const dbOf = (env: Record<string, string>) => join(env.TRACER_STATE_DIR!, "tracer.db");

test("a store at the current schema: ok", () => {
  const env = isolatedEnv();
  openStore(dbOf(env)).close();
  const { code, r } = doctor(env);
  expect(r.store).toMatchObject({ exists: true, schema: SCHEMA_VERSION });
  expect(r.store.problem).toBeUndefined();
  expect(code === 0 || r.ok === false).toBe(true); // other checks of this host may fail; the store's does not
});

test("a newer tracer's store: a problem, exit 1", () => {
  const env = isolatedEnv();
  openStore(dbOf(env)).close();
  const raw = new Database(dbOf(env));
  raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  const { code, r } = doctor(env);
  expect(code).toBe(1);
  expect(r.ok).toBe(false);
  expect(String(r.store.problem)).toContain(`newer than this tracer knows (${SCHEMA_VERSION})`);
});

test("a file that is no database: a problem", () => {
  const env = isolatedEnv();
  openStore(dbOf(env)).close();
  writeFileSync(dbOf(env), "this is not SQLite, just text long enough to be read as a header".repeat(20));
  const { code, r } = doctor(env);
  expect(code).toBe(1);
  expect(String(r.store.problem)).toContain("cannot be read");
});

test("an older schema is fine, and doctor leaves it as it is", () => {
  const env = isolatedEnv();
  openStore(dbOf(env)).close();
  // a schema-1 store: only the first migration
  const path = join(env.TRACER_STATE_DIR!, "old.db");
  const raw = new Database(path);
  raw.exec(`${MIGRATIONS[0]}; PRAGMA user_version = 1`);
  raw.close();
  Bun.spawnSync(["mv", path, dbOf(env)]);
  const { r } = doctor(env);
  expect(r.store).toMatchObject({ exists: true, schema: 1 });
  expect(r.store.problem).toBeUndefined();
  const after = new Database(dbOf(env), { readonly: true });
  expect(after.query("PRAGMA user_version").get()).toEqual({ user_version: 1 });
  after.close();
});

test("a store on a read-only mount: a problem (tracer run would not start CMD)", () => {
  const env = isolatedEnv();
  openStore(dbOf(env)).close();
  const dir = env.TRACER_STATE_DIR!;
  const script = `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" doctor --json`;
  const p = Bun.spawnSync(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir, BIN], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const r = JSON.parse(p.stdout.toString()) as { store: { problem?: string } };
  expect(p.exitCode).toBe(1);
  expect(r.store.problem).toMatch(/EROFS/);
});
