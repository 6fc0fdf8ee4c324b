/**
 * OOM detection end to end: a step moves itself into a fresh memory cgroup with a 64 MiB limit and
 * allocates 256 MiB; the kernel's OOM killer SIGKILLs it and `tracer report` marks it "OOM killed",
 * while a plain `kill -9` in the same run is not.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

/** A memory cgroup with a limit (v2 or v1), or why we cannot make one here. */
function makeCgroup(name: string): { dir: string; remove: () => void } | string {
  const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
  const dir = join(v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory", name);
  const limit = String(64 << 20);
  const remove = () => rmdirSync(dir);
  try {
    mkdirSync(dir);
  } catch (e) {
    return `cannot create a memory cgroup: ${(e as Error).message}`;
  }
  try {
    const files = v2
      ? [
          ["memory.max", limit],
          ["memory.swap.max", "0"],
        ]
      : [
          ["memory.limit_in_bytes", limit],
          ["memory.memsw.limit_in_bytes", limit],
        ];
    for (const [f, v] of files)
      if (f === files[0]![0] || existsSync(join(dir, f!))) writeFileSync(join(dir, f!), v!);
    return { dir, remove };
  } catch (e) {
    remove();
    return `cannot limit a memory cgroup: ${(e as Error).message}`;
  }
}

const cg = makeCgroup(`tracer-oom-${process.pid}`);
if (typeof cg === "string") console.warn(`skipping the OOM tests: ${cg}`);
const moved = makeCgroup(`tracer-oom-moved-${process.pid}`);

test.skipIf(typeof cg === "string")("an OOM-killed step is marked OOM killed; a kill -9 is not", async () => {
  const { dir, remove } = cg as Exclude<typeof cg, string>;
  try {
    const env = isolatedEnv();
    const hog = `echo $$ > ${dir}/cgroup.procs; exec /usr/bin/python3 -c "import time; time.sleep(0.3); b = bytearray(256 << 20)"`;
    const r = await run(
      ["run", "--name", "oom", "--", "sh", "-c", `sh -c '${hog}'; sh -c 'kill -9 $$'; exit 0`],
      {
        env,
      },
    );
    expect(r.code).toBe(0);
    const rep = await run(["report", "oom", "--json"], { env });
    const procs = JSON.parse(rep.stdout).processes as {
      argv: string[] | null;
      signal: number | null;
      oomKilled: boolean;
    }[];
    const py = procs.find((p) => p.argv?.[0] === "/usr/bin/python3");
    expect(py).toMatchObject({ signal: 9, oomKilled: true });
    const killed = procs.filter((p) => p.signal === 9 && p !== py);
    expect(killed.length).toBe(1);
    expect(killed[0]!.oomKilled).toBe(false);
    const text = await run(["report", "oom"], { env });
    expect(text.stdout).toContain("OOM killed");
  } finally {
    remove();
  }
});

// The process moves itself into the limited cgroup 0.3 s after its exec (long after the drain that read
// its cgroup) and dies within milliseconds: its recorded cgroup is the old one and it is gone before
// anyone reads /proc again. Marked false every time before the kernel log was read.
test.skipIf(typeof moved === "string")(
  "a process that joins a limited cgroup after its exec and is OOM killed is marked, with the limit",
  async () => {
    const { dir, remove } = moved as Exclude<typeof moved, string>;
    try {
      const env = isolatedEnv();
      for (let i = 0; i < 2; i++) {
        const py = `import os, time; time.sleep(0.3); open('${dir}/cgroup.procs', 'w').write(str(os.getpid())); b = bytearray(256 << 20)`;
        const r = await run(["run", "--name", `moved-${i}`, "--", "/usr/bin/python3", "-c", py], { env });
        expect(r.code).toBe(128 + 9);
        const rep = await run(["report", `moved-${i}`, "--json"], { env });
        const [p] = JSON.parse(rep.stdout).processes as {
          signal: number;
          oomKilled: boolean;
          oomLimitKb: number;
        }[];
        expect(p).toMatchObject({ signal: 9, oomKilled: true, oomLimitKb: 64 * 1024 });
      }
    } finally {
      remove();
    }
  },
);
