/**
 * The two OOM sources without a real OOM: the kernel log parser on records as this machine's kernel
 * (6.18) printed them, and the cgroup counters on fixture trees, v1 (this machine) and v2 (which
 * cannot be booted here: memory.events as the kernel documents it, Documentation/admin-guide/cgroup-v2.rst).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KernelLog, OomLogParser } from "../../src/observe/kmsg.ts";
import { OomWatch, probeOomSources, readMemoryLimitKb } from "../../src/observe/oom.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

/** no such process: the counters are read from the recorded cgroup alone */
const GONE = 4_194_304 + 7;

const KMSG = [
  "4,1470,430532408,-;python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
  " SUBSYSTEM=memory",
  "6,1500,430532536,-;memory: usage 65536kB, limit 65536kB, failcnt 0",
  "6,1501,430532538,-;memory+swap: usage 65536kB, limit 98304kB, failcnt 0",
  "6,1502,430532539,-;kmem: usage 164kB, limit 9007199254740988kB, failcnt 0",
  "6,1540,430532608,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/job-1,task_memcg=/job-1,task=python3,pid=18259,uid=0",
  "3,1541,430532622,-;Memory cgroup out of memory: Killed process 18259 (python3) total-vm:278728kB, anon-rss:72192kB, file-rss:6672kB, shmem-rss:0kB, UID:0 pgtables:204kB oom_score_adj:0",
  // a comm chosen to look like a kill line is never taken for one
  "4,1542,430600000,-;x: Killed process 777 (Out of memory: Killed process 778 ) invoked",
  "3,1600,431000000,-;Out of memory: Killed process 4242 (hog) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0",
  "",
].join("\n");

test("kernel log: the killed pid, the smaller of the memory and memory+swap limits, the cgroup", () => {
  const p = new OomLogParser();
  // any chunking: /dev/kmsg hands out one record per read, a file arbitrary pieces
  for (let i = 0; i < KMSG.length; i += 37) p.feed(KMSG.slice(i, i + 37));
  expect(p.take(18259)).toEqual({ pid: 18259, cgroup: true, limitKb: 65536, memcg: "/job-1" });
  expect(p.take(18259)).toBeUndefined();
  expect(p.take(777)).toBeUndefined();
  expect(p.take(778)).toBeUndefined();
  // a system-wide OOM: killed, no cgroup limit
  expect(p.take(4242)).toEqual({ pid: 4242, cgroup: false, limitKb: undefined, memcg: undefined });
});

test("kernel log read from a file in place of /dev/kmsg; OomWatch trusts it over the counters", () => {
  const dir = tempDir();
  const log = join(dir, "kmsg");
  writeFileSync(log, KMSG);
  const k = KernelLog.open(log);
  expect(k?.oomKill(18259)?.limitKb).toBe(65536);
  k?.close();
  const root = join(dir, "cg");
  mkdirSync(join(root, "job-1"), { recursive: true });
  writeFileSync(join(root, "job-1", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  const w = new OomWatch({ memoryRoot: root, kmsg: log });
  w.watch("/job-1");
  writeFileSync(join(root, "job-1", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  // not the pid the kernel named: a plain kill -9, although the counter rose
  expect(w.verdict({ pid: 18258, cgroup: "/job-1" }, 9)).toEqual({ oomKilled: false });
  expect(w.verdict({ pid: 18259, cgroup: "/job-1" }, 9)).toEqual({ oomKilled: true, limitKb: 65536 });
  expect(w.verdict({ pid: 4242, cgroup: "/" }, 15)).toEqual({ oomKilled: false });
  w.close();
});

test("cgroup v2 counters (memory.events), limit from the smallest memory.max up the tree", () => {
  const root = tempDir();
  const job = join(root, "slurm", "job-7");
  mkdirSync(job, { recursive: true });
  const events = (n: number) => `low 0\nhigh 0\nmax 12\noom 2\noom_kill ${n}\noom_group_kill 0\n`;
  writeFileSync(join(job, "memory.events"), events(0));
  writeFileSync(join(job, "memory.max"), `${256 << 20}\n`);
  writeFileSync(join(root, "slurm", "memory.max"), `${128 << 20}\n`);
  const w = new OomWatch({ memoryRoot: root, kmsg: false });
  w.watch("/slurm/job-7");
  // the counter has not risen: a plain SIGKILL
  expect(w.verdict({ pid: GONE, cgroup: "/slurm/job-7" }, 9)).toEqual({ oomKilled: false });
  writeFileSync(join(job, "memory.events"), events(1));
  // not a SIGKILL: never an OOM kill, and the rise stays for the process it belongs to
  expect(w.verdict({ pid: GONE, cgroup: "/slurm/job-7" }, 15).oomKilled).toBe(false);
  expect(w.verdict({ pid: GONE, cgroup: "/slurm/job-7" }, 9)).toEqual({
    oomKilled: true,
    limitKb: 128 * 1024,
  });
  // one rise, one OOM kill: the next SIGKILL of that cgroup is not one
  expect(w.verdict({ pid: GONE, cgroup: "/slurm/job-7" }, 9).oomKilled).toBe(false);
  // no limit anywhere: the kill is still marked, the limit unknown
  writeFileSync(join(job, "memory.max"), "max\n");
  writeFileSync(join(root, "slurm", "memory.max"), "max\n");
  expect(readMemoryLimitKb(root, job)).toBeUndefined();
  // a path from /proc that tries to leave the root is not followed
  w.watch("/../../etc");
  expect(w.verdict({ pid: GONE, cgroup: "/../../etc" }, 9).oomKilled).toBe(false);
  w.close();
});

test("cgroup v1 counters (memory.oom_control), limit from memory.stat's hierarchical_memory_limit", () => {
  const root = tempDir();
  const job = join(root, "job");
  mkdirSync(job);
  const control = (n: number) => `oom_kill_disable 0\nunder_oom 0\noom_kill ${n}\n`;
  writeFileSync(join(job, "memory.oom_control"), control(3));
  writeFileSync(join(job, "memory.limit_in_bytes"), "9223372036854771712\n");
  writeFileSync(join(job, "memory.stat"), `cache 0\nrss 1\nhierarchical_memory_limit ${64 << 20}\n`);
  const w = new OomWatch({ memoryRoot: root, kmsg: false });
  w.watch("/job");
  writeFileSync(join(job, "memory.oom_control"), control(4));
  expect(w.verdict({ pid: GONE, cgroup: "/job" }, 9)).toEqual({ oomKilled: true, limitKb: 64 * 1024 });
  // unlimited (v1 prints a huge byte count)
  writeFileSync(join(job, "memory.stat"), "hierarchical_memory_limit 9223372036854771712\n");
  expect(readMemoryLimitKb(root, job)).toBeUndefined();
  // a cgroup never read before the kill (moved after its exec): no counter to compare, not marked
  mkdirSync(join(root, "other"));
  writeFileSync(join(root, "other", "memory.oom_control"), control(1));
  expect(w.verdict({ pid: GONE, cgroup: "/other" }, 9).oomKilled).toBe(false);
  w.close();
});

test("the sources tracer doctor reports: what works (v1 counters, v2 counters, the kernel log), none only when none does", () => {
  const dir = tempDir();
  const v1 = join(dir, "v1");
  mkdirSync(join(v1, "job"), { recursive: true });
  writeFileSync(join(v1, "job", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  const v2 = join(dir, "v2");
  mkdirSync(join(v2, "job"), { recursive: true });
  writeFileSync(join(v2, "job", "memory.events"), "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
  const log = join(dir, "kmsg");
  writeFileSync(log, "");

  // a cgroup v1 host without the kernel log: OOM kills are still detected, from v1's counters
  const onV1 = probeOomSources({ memoryRoot: v1, cgroup: "/job", kmsg: false });
  expect(onV1.available).toBe(true);
  expect(onV1.reason).toContain("cgroup v1 memory controller");
  expect(onV1.reason).not.toContain("kernel log");
  const onV2 = probeOomSources({ memoryRoot: v2, cgroup: "/job", kmsg: false });
  expect(onV2).toMatchObject({ available: true });
  expect(onV2.reason).toContain("cgroup v2");
  // both sources named
  expect(probeOomSources({ memoryRoot: v1, cgroup: "/job", kmsg: log }).reason).toMatch(
    /^kernel log \(.*\) \+ cgroup v1 /,
  );
  // an old v1 kernel (< 4.13: memory.oom_control without oom_kill) and no readable log: nothing works
  writeFileSync(join(v1, "job", "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\n");
  const none = probeOomSources({ memoryRoot: v1, cgroup: "/job", kmsg: join(dir, "no-such-log") });
  expect(none.available).toBe(false);
  expect(none.reason).toStartWith("no source");
  // the kernel log alone is enough
  expect(probeOomSources({ memoryRoot: v1, cgroup: "/job", kmsg: log })).toMatchObject({ available: true });
});
