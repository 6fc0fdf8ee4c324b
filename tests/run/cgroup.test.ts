/**
 * The cgroup of short processes that moved themselves into another group before its exec (as cgexec does):
 * the exec watcher (ffi/execwatch.c) reads /proc/PID/cgroup at the exec, so the recorder has it even
 * when the process is gone by its next drain. Read only by the recorder, long after, it was the
 * parent's (its /proc entry gone, the parent's string was kept).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { probeConnector } from "../../src/observe/connector.ts";
import { readCgroup } from "../../src/observe/procfs.ts";
import { cProgram } from "../helpers/bigrun.ts";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";
import { openDb } from "./_helpers.ts";

afterAll(cleanupTemp);

/** A new group of the hierarchy readCgroup reports (v1 memory, else v2) under this process's, or why not. */
function newGroup(): { path: string; procs: string; remove: () => void } | string {
  if (process.getuid?.() !== 0) return "not root";
  const own = readCgroup(process.pid);
  if (own === undefined) return "no cgroup";
  const v1 = /^\d+:(?:[^:\n]*,)?memory(?:,[^:\n]*)?:/m.test(readFileSync("/proc/self/cgroup", "latin1"));
  const mount = v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
  if (!existsSync(join(mount, own))) return `${mount}${own} is not mounted here`;
  const path = join(own, `tracer-cgroup-test-${process.pid}`);
  try {
    mkdirSync(join(mount, path));
  } catch (e) {
    return `cannot make a group: ${(e as Error).message}`;
  }
  return {
    path,
    procs: join(mount, path, v1 ? "tasks" : "cgroup.procs"),
    remove: () => rmdirSync(join(mount, path)),
  };
}

/** processes that join the group: each short, most gone by the recorder's next drain */
const JOINS = 20;

const connector = probeConnector();
const group = connector.available ? newGroup() : "no proc connector";
if (typeof group === "string") console.warn(`skipping the cgroup-at-exec test: ${group}`);

describe.skipIf(typeof group === "string")("cgroup at exec", () => {
  afterAll(() => {
    if (typeof group !== "string") group.remove();
  });

  test("short processes that joined another cgroup before their exec are recorded in that group", async () => {
    const g = group as Exclude<typeof group, string>;
    const cgjoin = cProgram("cgjoin");
    const env = isolatedEnv();
    // the joined process (/bin/true) is reaped by sh at once, long before the recorder's next drain
    const r = await run(
      [
        "run",
        "--quiet",
        "--",
        "sh",
        "-c",
        `sleep 0.2; for i in ${"1 ".repeat(JOINS)}; do ${cgjoin} ${g.procs} /bin/true; done; sleep 0.3`,
      ],
      {
        env,
      },
    );
    expect(r.code).toBe(0);
    const db = openDb(env);
    const processes = (
      db.query("SELECT argv, cgroup FROM processes").all() as { argv: string | null; cgroup: string | null }[]
    ).map((p) => ({ argv: p.argv === null ? null : (JSON.parse(p.argv) as string[]), cgroup: p.cgroup }));
    db.close();
    const joined = processes.filter((p) => p.argv?.[0] === "/bin/true");
    expect(joined.length).toBe(JOINS);
    expect(joined.filter((p) => p.cgroup !== g.path)).toEqual([]);
    const sh = processes.find((p) => p.argv?.[0] === "sh");
    expect(sh?.cgroup).toBe(readCgroup(process.pid));
  });
});
