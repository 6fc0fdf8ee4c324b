/**
 * The argv of processes shorter than the recorder's drain interval (100 ms as root): the exec watcher
 * (ffi/execwatch.c) reads it the moment they exec. Thirty 10 ms `sleep`s, each with its own argument,
 * end long before the next drain; each must still be named by its command line.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { probeConnector } from "../../src/observe/connector.ts";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const STEPS = 30;
const script = Array.from({ length: STEPS }, (_, i) => `/bin/sleep 0.01 0.0000${i}`).join("; ");

async function sleepsNamed(extra: Record<string, string> = {}) {
  const env = isolatedEnv(extra);
  const r = await run(["run", "--quiet", "--", "sh", "-c", script], { env });
  expect(r.code).toBe(0);
  const rep = await run(["report", "--json"], { env });
  const { processes } = JSON.parse(rep.stdout) as { processes: { argv: string[] | null; comm: string }[] };
  const named = new Set(
    processes.filter((p) => p.argv?.[0] === "/bin/sleep" && p.argv[1] === "0.01").map((p) => p.argv![2]),
  );
  const sleeps = processes.filter((p) => p.comm === "sleep" || p.argv?.[0] === "/bin/sleep").length;
  return { named: named.size, sleeps };
}

const connector = probeConnector();
describe.skipIf(!connector.available)("argv of short processes", () => {
  test("each 10 ms sleep is named by its own argv; without the watcher most are not", async () => {
    const watched = await sleepsNamed();
    expect(watched.sleeps).toBe(STEPS);
    // a loaded 2-core host can delay the watcher's thread past a 10 ms life now and then
    expect(watched.named).toBeGreaterThanOrEqual(STEPS - 2);
    const unwatched = await sleepsNamed({ TRACER_NO_EXEC_WATCH: "1" });
    expect(unwatched.sleeps).toBe(STEPS);
    expect(unwatched.named).toBeLessThan(watched.named);
  });

  test("the watcher's higher priority stays on its own thread: CMD runs at the caller's nice value and policy", async () => {
    const env = isolatedEnv();
    // fields 19 (nice) and 41 (scheduling policy: 0 = SCHED_OTHER; the watcher's thread is SCHED_FIFO)
    const r = await run(["run", "--quiet", "--", "sh", "-c", "cut -d' ' -f19,41 /proc/self/stat"], {
      env,
    });
    expect(r.code).toBe(0);
    const own = readFileSync("/proc/self/stat", "utf8");
    const f = own.slice(own.lastIndexOf(")") + 2).split(" ");
    expect(r.stdout.trim()).toBe(`${f[16]} ${f[38]}`);
  });

  for (const watcher of ["on", "off"])
    test(`a command line longer than 64 KiB is stored cut, marked, with its full length (watcher ${watcher})`, async () => {
      const env = isolatedEnv(watcher === "off" ? { TRACER_NO_EXEC_WATCH: "1" } : {});
      // fifteen arguments of 128 KiB - 1 bytes (MAX_ARG_STRLEN counts the NUL): 1,966,080 bytes in all;
      // `sleep 1` keeps the echo (blocked on its pipe) alive past the drain that reads /proc without the
      // watcher: drains come up to 500 ms apart on a quiet host (0.3 s lost the echo in 2 of 3 runs here)
      const script = `A=$(head -c 131071 /dev/zero | tr '\\0' a); /bin/echo $A $A $A $A $A $A $A $A $A $A $A $A $A $A $A | (sleep 1; wc -c)`;
      const r = await run(["run", "--quiet", "--", "sh", "-c", script], { env });
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(String(15 * 131072));
      const rep = await run(["report", "--json"], { env });
      const { processes } = JSON.parse(rep.stdout) as {
        processes: { argv: string[] | null; argvBytes: number | null; argvTruncated: boolean }[];
      };
      const echo = processes.find((p) => p.argv?.[0] === "/bin/echo");
      expect(echo).toBeDefined();
      expect(echo!.argvTruncated).toBe(true);
      expect(echo!.argvBytes).toBe(10 + 15 * 131072);
      // the first 64 KiB of the command line, NULs included: "/bin/echo", then the head of the first A
      expect(echo!.argv!.length).toBe(2);
      expect(echo!.argv![1]).toBe("a".repeat(65536 - 10));
      const sh = processes.find((p) => p.argv?.[0] === "sh");
      expect(sh).toMatchObject({ argvTruncated: false, argvBytes: 3 + 3 + script.length + 1 });
    });

  test("40 KB command lines at ~150 execs/s after a quiet second: every one read (the ring holds a paced drain interval)", async () => {
    // as root, drains come up to 500 ms apart while the host is quiet: the exec watcher's ring must
    // hold that long's argv (~75 × 40 KB here) until a drain's lookups take it (2 MiB lost 18–20 of 120)
    const env = isolatedEnv();
    // each shell lives 50 ms (its sleep forked): on a loaded host a /bin/true can end before the
    // watcher reads its command line, which is not what this tests
    const script =
      'A=$(head -c 40000 /dev/zero | tr "\\0" a); sleep 1; for i in $(seq 120); do sh -c "sleep 0.05; :" x $A & sleep 0.005; done; wait';
    const r = await run(["run", "--quiet", "--", "sh", "-c", script], { env });
    expect(r.code).toBe(0);
    const rep = await run(["report", "--json"], { env });
    const { run: info, processes } = JSON.parse(rep.stdout) as {
      run: { argvLost: number };
      processes: { argv: string[] | null }[];
    };
    expect(processes.filter((p) => p.argv?.[0] === "sh" && p.argv[4]?.length === 40000).length).toBe(120);
    expect(info.argvLost).toBe(0);
  });

  test("processes that exec'd but ended before their argv was read are counted (report header, JSON)", async () => {
    // without the watcher a /bin/true ends long before the 100 ms drain reads /proc
    const env = isolatedEnv({ TRACER_NO_EXEC_WATCH: "1" });
    const r = await run(["run", "--quiet", "--", "sh", "-c", "for i in $(seq 50); do /bin/true; done"], {
      env,
    });
    expect(r.code).toBe(0);
    const rep = await run(["report", "--json"], { env });
    const { run: info, processes } = JSON.parse(rep.stdout) as {
      run: { argvLost: number };
      processes: { argv: string[] | null; comm: string | null }[];
    };
    const unnamed = processes.filter((p) => p.comm === "true" && !p.argv).length;
    expect(unnamed).toBeGreaterThan(0);
    // `seq` may be unnamed too; each row without argv that exec'd is one count
    expect(info.argvLost).toBe(processes.filter((p) => !p.argv).length);
    const text = await run(["report", "--format", "table"], { env });
    expect(text.stdout).toContain(`argv lost: ${info.argvLost}`);
    const runs = await run(["runs", "--json"], { env });
    expect((JSON.parse(runs.stdout) as { argvLost: number }[])[0]!.argvLost).toBe(info.argvLost);
  });
});
