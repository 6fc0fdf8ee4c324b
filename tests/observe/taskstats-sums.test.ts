/**
 * Pure taskstats pieces on synthetic bytes: generic netlink framing, struct taskstats decoding, and
 * summing per-thread records into one ExitFigures per thread group.
 */
import { describe, expect, test } from "bun:test";
import {
  attributes,
  splitRuntime,
  decodeTaskstats,
  eachMessage,
  familyId,
  GENL_ID_CTRL,
  genlRequest,
  messages,
  NLMSG_ERROR,
  nlError,
  TASKSTATS_CMD_NEW,
  type TaskRecord,
} from "../../src/observe/_netlink-parse.ts";
import { monotonicNs } from "../../ffi/netlink.ts";
import { TeardownWatch } from "../../src/observe/_taskstats-probe.ts";
import { TgidSums } from "../../src/observe/taskstats.ts";

const FAMILY = 31;

function attr(type: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array((4 + payload.byteLength + 3) & ~3);
  new DataView(b.buffer).setUint16(0, 4 + payload.byteLength, true);
  new DataView(b.buffer).setUint16(2, type, true);
  b.set(payload, 4);
  return b;
}
const u32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
const cat = (...p: Uint8Array[]) => {
  const out = new Uint8Array(p.reduce((n, x) => n + x.byteLength, 0));
  let off = 0;
  for (const x of p) {
    out.set(x, off);
    off += x.byteLength;
  }
  return out;
};

/** A version-16-sized struct taskstats with the fields tracer reads (its version field `version`, 16 unless said). */
function stats(r: Partial<TaskRecord> & { pid: number; tgid: number }): Uint8Array {
  const b = new Uint8Array(560);
  const dv = new DataView(b.buffer);
  const u64 = (o: number, v = 0) => dv.setBigUint64(o, BigInt(v), true);
  dv.setUint16(0, r.version ?? 16, true);
  dv.setUint32(4, r.status ?? 0, true);
  b[8] = r.acFlag ?? 0;
  b.set(new TextEncoder().encode(r.comm ?? "x"), 80);
  dv.setUint32(128, r.pid, true);
  dv.setUint32(132, r.ppid ?? 1, true);
  dv.setUint32(136, r.btimeSec ?? 1000, true);
  u64(144, r.etimeUs);
  u64(152, r.utimeUs);
  u64(160, r.stimeUs);
  u64(72, r.cpuRunNs);
  u64(200, r.hiwaterRssKb);
  u64(208, r.hiwaterVmKb);
  u64(216, r.rchar);
  u64(224, r.wchar);
  u64(248, r.readBytes);
  u64(256, r.writeBytes);
  u64(344, r.btimeSec ?? 1000);
  dv.setUint32(368, r.tgid, true);
  return b;
}

/** A TASKSTATS_CMD_NEW message: AGGR_PID{PID, STATS} and, for the group's end, AGGR_TGID{TGID, STATS}. */
function record(r: Parameters<typeof stats>[0], groupDead = false, groupRunNs = 0): Uint8Array {
  const attrs: [number, Uint8Array][] = [[4 | 0x8000, cat(attr(1, u32(r.pid)), attr(3, stats(r)))]];
  const group = stats({ pid: 0, tgid: r.tgid, cpuRunNs: groupRunNs });
  if (groupDead) attrs.push([5 | 0x8000, cat(attr(2, u32(r.tgid)), attr(3, group))]);
  return genlRequest(FAMILY, 0, 0, TASKSTATS_CMD_NEW, attrs);
}

function decode(buf: Uint8Array) {
  return [...messages(buf)].map((m) => decodeTaskstats(buf, m, FAMILY)!);
}

describe("generic netlink framing", () => {
  test("a request's attributes read back, padded to 4 bytes", () => {
    const req = genlRequest(GENL_ID_CTRL, 1, 7, 3, [
      [2, new TextEncoder().encode("TASKSTATS\0")],
      [1, new Uint8Array([31, 0])],
    ]);
    const [m] = [...messages(req)];
    expect(m).toMatchObject({ type: GENL_ID_CTRL, flags: 1, seq: 7, len: req.byteLength });
    expect(req.byteLength % 4).toBe(0);
    const as = [...attributes(req, 20, req.byteLength)];
    expect(as.map((a) => [a.type, a.len])).toEqual([
      [2, 10],
      [1, 2],
    ]);
    expect(familyId(req, m!)).toBe(31);
  });

  test("NLMSG_ERROR: 0 is an ACK, else the errno", () => {
    const b = new Uint8Array(36);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 36, true);
    dv.setUint16(4, NLMSG_ERROR, true);
    dv.setInt32(16, -1, true);
    expect(nlError(b, [...messages(b)][0]!)).toBe(1);
    dv.setInt32(16, 0, true);
    expect(nlError(b, [...messages(b)][0]!)).toBe(0);
  });
});

describe("struct taskstats", () => {
  test("u64 figures above 2^32 keep their high word; ppid, tgid and the group's runtime too", () => {
    const big = (k: number) => 2 ** 32 * k + 1000 + k; // every field its own value, high word set
    const fields = {
      pid: 43,
      tgid: 41,
      ppid: 7,
      comm: "a-fifteen-chars",
      etimeUs: big(1),
      utimeUs: big(2),
      stimeUs: big(3),
      cpuRunNs: big(4),
      hiwaterRssKb: big(5),
      hiwaterVmKb: big(6),
      rchar: big(7),
      wchar: big(8),
      readBytes: big(9),
      writeBytes: big(10),
      btimeSec: big(11),
    };
    const [r] = decode(record(fields, true, big(12)));
    expect(r?.rec).toMatchObject(fields);
    expect(r?.groupDead).toBe(true);
    expect(r?.group?.cpuRunNs).toBe(big(12));
    // the same record at an odd byte offset (never from a drain): read from a copy, the same figures
    const buf = record({ pid: 43, tgid: 41, cpuRunNs: big(4) });
    const shifted = new Uint8Array(buf.byteLength + 1);
    shifted.set(buf, 1);
    const odd = shifted.subarray(1);
    expect(decodeTaskstats(odd, [...messages(odd)][0]!, FAMILY)?.rec).toMatchObject({
      pid: 43,
      tgid: 41,
      cpuRunNs: big(4),
    });
  });

  test("every figure tracer reports decodes from its offset", () => {
    const [r] = decode(
      record({
        pid: 42,
        tgid: 42,
        comm: "python3",
        status: 768,
        btimeSec: 1_700_000_000,
        etimeUs: 1_500_000,
        utimeUs: 400_000,
        stimeUs: 8_000,
        hiwaterRssKb: 218_100,
        hiwaterVmKb: 230_000,
        rchar: 11,
        wchar: 22,
        readBytes: 4096,
        writeBytes: 52_428_800,
        acFlag: 0x20,
      }),
    );
    expect(r?.groupDead).toBe(false);
    expect(r?.rec).toMatchObject({
      version: 16,
      pid: 42,
      tgid: 42,
      comm: "python3",
      status: 768,
      btimeSec: 1_700_000_000,
      etimeUs: 1_500_000,
      utimeUs: 400_000,
      stimeUs: 8_000,
      hiwaterRssKb: 218_100,
      hiwaterVmKb: 230_000,
      rchar: 11,
      wchar: 22,
      readBytes: 4096,
      writeBytes: 52_428_800,
      acFlag: 0x20,
    });
  });

  test("eachMessage walks what messages() walks, stopping at the same malformed length", () => {
    const two = cat(record({ pid: 7, tgid: 7 }), record({ pid: 9, tgid: 8 }, true));
    const broken = cat(two, u32(8), u32(0), u32(0), u32(0)); // a length below a header's
    for (const buf of [two, broken]) {
      const walked: unknown[] = [];
      eachMessage(buf, (m) => walked.push(m));
      expect(walked).toEqual([...messages(buf)]);
      expect(walked.length).toBe(2);
    }
  });

  test("the AGGR_TGID block marks the group's last thread", () => {
    expect(decode(record({ pid: 43, tgid: 42 }, true))[0]?.groupDead).toBe(true);
  });
});

describe("the kernel's user/system split (cputime_adjust)", () => {
  test("in the ticks' ratio; all user without system ticks, all system without user ticks; µs truncated", () => {
    expect(splitRuntime(10_000_999, 4000, 4000)).toEqual({ userUs: 5000, systemUs: 5000 });
    expect(splitRuntime(12_345_678, 0, 0)).toEqual({ userUs: 12_345, systemUs: 0 });
    expect(splitRuntime(12_345_678, 8000, 0)).toEqual({ userUs: 12_345, systemUs: 0 });
    expect(splitRuntime(12_345_678, 0, 4000)).toEqual({ userUs: 0, systemUs: 12_345 });
    expect(splitRuntime(3_000_000, 8000, 4000)).toEqual({ userUs: 2000, systemUs: 1000 });
  });
});

describe("summing threads by tgid", () => {
  const rec = (pid: number, tgid: number, more: Partial<TaskRecord> = {}) =>
    decode(record({ pid, tgid, ...more }))[0]!.rec;

  test("a single-threaded process is emitted one drain later, as is", () => {
    const sums = new TgidSums(() => 1);
    sums.add(rec(10, 10, { status: 768, hiwaterRssKb: 500, writeBytes: 9, acFlag: 0x20 }), false);
    expect(sums.flush()).toEqual([]); // a late record from the same drain could still join
    const [f] = sums.flush();
    expect(f).toMatchObject({ tgid: 10, exitCode: 3, peakRssKb: 500, writeBytes: 9 });
  });

  test("threads: CPU and I/O add up, peak RSS is the largest, status from the last thread", () => {
    const sums = new TgidSums(() => 3);
    sums.add(rec(21, 20, { utimeUs: 100, writeBytes: 5, hiwaterRssKb: 700, status: 9 }), false);
    // the leader exits while another thread still runs: not complete yet
    sums.add(rec(20, 20, { utimeUs: 10, writeBytes: 1, hiwaterRssKb: 700, comm: "app", status: 9 }), false);
    sums.flush();
    expect(sums.flush()).toEqual([]);
    sums.add(rec(22, 20, { utimeUs: 1000, stimeUs: 4, writeBytes: 100, hiwaterRssKb: 690, status: 9 }), true);
    sums.flush();
    const [f] = sums.flush();
    expect(f).toMatchObject({ tgid: 20, pid: 20, comm: "app", signal: 9, userUs: 1110, systemUs: 4 });
    expect(f).toMatchObject({ writeBytes: 106, peakRssKb: 700 });
    expect(f?.exitCode).toBeUndefined();
  });

  test("a thread that execs after the leader left: the process is named by the new image's leader record", () => {
    // main's pthread_exit sends the leader's record (pid = tgid); a worker's exec then makes the worker
    // the leader, with that pid and start, and its record ends the group: two records of pid = tgid
    for (const order of ["queued in order", "queued out of order"] as const) {
      const sums = new TgidSums(() => 2);
      const first = rec(40, 40, { comm: "lx", etimeUs: 100_000, utimeUs: 10 });
      const last = rec(40, 40, { comm: "sleep", etimeUs: 400_000, utimeUs: 20 });
      if (order === "queued in order") {
        sums.add(first, false);
        sums.add(last, true);
      } else {
        sums.add(last, true);
        sums.add(first, false);
      }
      sums.flush();
      const [f] = sums.flush();
      expect({ order, f }).toMatchObject({
        order,
        f: { tgid: 40, comm: "sleep", elapsedUs: 400_000, userUs: 30 },
      });
    }
  });

  test("the kernel's AGROUP mark (a single-threaded process's exit) completes the group without asking /proc", () => {
    let asked = 0;
    const sums = new TgidSums(() => {
      asked++;
      return 1;
    });
    sums.add(rec(12, 12, { acFlag: 0x20, hiwaterRssKb: 300 }), false);
    sums.flush();
    expect(sums.flush()).toMatchObject([{ tgid: 12, peakRssKb: 300 }]);
    expect(asked).toBe(0);
    // an older kernel (struct version < 12) never marks it: /proc is asked
    sums.add(rec(13, 13, { version: 11 }), false);
    sums.flush();
    expect(sums.flush()).toMatchObject([{ tgid: 13 }]);
    expect(asked).toBe(1);
  });

  test("a non-leader thread's exec: the old leader's record is not the end, though /proc shows one thread", () => {
    // de_thread: the old leader exits (its record: pid = tgid, no AGROUP) and the exec'ing thread takes
    // its pid; /proc then shows that one thread. The process ends with the new leader's marked record
    const sums = new TgidSums(() => 1);
    sums.add(rec(50, 50, { comm: "old", etimeUs: 10_000, wchar: 1000, utimeUs: 4 }), false);
    sums.flush();
    expect(sums.flush()).toEqual([]);
    sums.add(rec(50, 50, { comm: "wr", etimeUs: 90_000, wchar: 5000, utimeUs: 8, acFlag: 0x20 }), false);
    sums.flush();
    expect(sums.flush()).toMatchObject([
      { tgid: 50, comm: "wr", wchar: 6000, userUs: 12, elapsedUs: 90_000 },
    ]);
    expect(sums.flush(true)).toEqual([]); // one process, one set of figures
  });

  test("a leader whose other threads are still alive waits for the group's end", () => {
    const alive = new Map([[30, 2]]);
    const sums = new TgidSums((tgid) => alive.get(tgid) ?? 0);
    sums.add(rec(30, 30, { utimeUs: 1 }), false);
    sums.flush();
    expect(sums.flush()).toEqual([]);
    sums.add(rec(31, 30, { utimeUs: 2 }), true);
    sums.flush();
    expect(sums.flush()).toMatchObject([{ tgid: 30, userUs: 3 }]);
  });

  test("a thread record racing in after the group's end still joins it", () => {
    const sums = new TgidSums(() => 0);
    sums.add(rec(41, 40, { wchar: 1 }), false);
    sums.add(rec(40, 40, { wchar: 2 }), true);
    sums.flush();
    sums.add(rec(42, 40, { wchar: 4 }), false);
    sums.flush();
    expect(sums.flush()).toMatchObject([{ tgid: 40, wchar: 7 }]);
  });

  test("the leader's record arriving after the last thread's (sent later on another CPU) leaves the group ended", () => {
    // the leader left first (pthread_exit: no AGROUP) but was preempted before its record was queued
    const sums = new TgidSums(() => 0);
    sums.add(rec(71, 70, { wchar: 1, acFlag: 0x20 }), true);
    sums.add(rec(70, 70, { wchar: 2 }), false);
    sums.flush();
    expect(sums.flush()).toMatchObject([{ tgid: 70, wchar: 3 }]);
  });

  test("CPU: the scheduler's runtime of all threads, split in the ticks' user/system ratio (as rusage)", () => {
    const sums = new TgidSums(() => 0);
    // tick samples say 8 ms user + 4 ms system; the scheduler ran the threads 9,000,001 ns
    sums.add(rec(61, 60, { utimeUs: 4000, stimeUs: 4000, cpuRunNs: 5_000_000 }), false);
    sums.add(rec(60, 60, { utimeUs: 4000, cpuRunNs: 4_000_001 }), true);
    sums.flush();
    const [f] = sums.flush();
    expect(f).toMatchObject({ cpuNs: 9_000_001, userUs: 6000, systemUs: 3000 });
  });

  test("CPU: the AGGR_TGID block's runtime counts threads whose records were missed", () => {
    const sums = new TgidSums(() => 0);
    const buf = record({ pid: 70, tgid: 70, utimeUs: 4000, cpuRunNs: 3_000_000 }, true, 7_500_000);
    const [d] = decode(buf);
    expect(d?.group?.cpuRunNs).toBe(7_500_000);
    sums.add(d!.rec, d!.groupDead, d!.group);
    sums.flush();
    expect(sums.flush()).toMatchObject([{ cpuNs: 7_500_000, userUs: 7500, systemUs: 0 }]);
  });

  test("CPU: a runtime probe adds what the records lack (clock − taskstats at the probe), never less", () => {
    const sums = new TgidSums(() => 0);
    sums.add(rec(81, 80, { utimeUs: 8000, cpuRunNs: 10_000_000 }), false);
    // at the probe the clock had 10.5 ms folded in where the records' sum said 9.8 ms (+ live threads)
    sums.probed(80, { clockNs: 10_500_000, statsNs: 9_800_000 });
    // a later probe that saw less gain (jitter of live threads) does not lower it
    sums.probed(80, { clockNs: 10_600_000, statsNs: 10_600_000 });
    sums.add(
      rec(80, 80, { utimeUs: 4000, cpuRunNs: 2_000_000 }),
      true,
      rec(80, 80, { cpuRunNs: 12_000_000 }),
    );
    sums.flush();
    expect(sums.flush()).toMatchObject([{ cpuNs: 12_700_000, userUs: 12_700, systemUs: 0 }]);
  });

  test("CPU: a probe counts from the AGGR_TGID sum, never from records that read the runtime again later", () => {
    const sums = new TgidSums(() => 0);
    // the records add up to 13 ms but the kernel summed 12 ms into signal->stats (a slice folded in
    // between its two reads): 12 + 0.7 stays below the records' 13
    sums.add(rec(101, 100, { utimeUs: 4000, cpuRunNs: 6_500_000 }), false);
    sums.probed(100, { clockNs: 7_000_000, statsNs: 6_300_000 });
    sums.add(
      rec(100, 100, { utimeUs: 4000, cpuRunNs: 6_500_000 }),
      true,
      rec(100, 100, { cpuRunNs: 12_000_000 }),
    );
    sums.flush();
    expect(sums.flush()).toMatchObject([{ cpuNs: 13_000_000 }]);
    // without the kernel's sum (its record lost) a probe is not used
    sums.add(rec(111, 110, { utimeUs: 4000, cpuRunNs: 1_000_000 }), false);
    sums.probed(110, { clockNs: 5_000_000, statsNs: 1_000_000 });
    sums.add(rec(110, 110, { utimeUs: 4000, cpuRunNs: 1_000_000 }), true);
    sums.flush();
    expect(sums.flush()).toMatchObject([{ cpuNs: 2_000_000 }]);
  });

  test("CPU: a clock reading during the teardown raises the runtime; a held group waits for it", () => {
    const sums = new TgidSums(() => 0);
    sums.add(rec(90, 90, { utimeUs: 4000, stimeUs: 4000, cpuRunNs: 8_000_000 }), true);
    sums.hold(90, true);
    sums.flush();
    expect(sums.flush()).toEqual([]);
    sums.clock(90, 7_000_000); // an earlier reading below the records: ignored
    sums.clock(90, 9_000_000);
    sums.hold(90, false);
    expect(sums.flush()).toMatchObject([{ cpuNs: 9_000_000, userUs: 4500, systemUs: 4500 }]);
  });

  test("stop flushes everything still pending", () => {
    const sums = new TgidSums(() => 5);
    sums.add(rec(51, 50), false);
    expect(sums.flush(true)).toMatchObject([{ tgid: 50 }]);
  });
});

describe.skipIf(process.platform !== "linux")(
  "teardown watch: a clock reading is kept only when the pid is provably the group's",
  () => {
    /** a watch over a live `sleep` whose age (µs) and zombie state the test decides */
    async function watchSleep(ageUs: (sinceEmptyUs: number) => number, zombie = false) {
      const p = Bun.spawn(["sleep", "5"]);
      const readings: number[] = [];
      const done: number[] = [];
      const w = new TeardownWatch(
        () => ageUs((monotonicNs() - emptyAt) / 1000),
        () => zombie,
        (_, ns) => readings.push(ns),
        (tgid) => done.push(tgid),
      );
      const emptyAt = monotonicNs() - 50e6;
      expect(w.start(p.pid, emptyAt)).toBe(true);
      w.poll();
      p.kill();
      await p.exited;
      return { readings, done, size: w.size, pid: p.pid };
    }

    test("started before the empty read: the reading is kept and watching goes on", async () => {
      const r = await watchSleep((since) => since + 10_000);
      expect(r.readings).toHaveLength(1);
      expect(r.readings[0]!).toBeGreaterThanOrEqual(0);
      expect(r.done).toEqual([]);
      expect(r.size).toBe(1);
    });

    test("younger than the empty read (a reused pid could be): nothing kept, the group is handed back", async () => {
      const r = await watchSleep((since) => since - 2);
      expect(r.readings).toEqual([]);
      expect(r.done).toEqual([r.pid]);
    });

    test("a zombie's clock is final: read once, then handed back", async () => {
      const r = await watchSleep((since) => since + 10_000, true);
      expect(r.readings).toHaveLength(1);
      expect(r.done).toEqual([r.pid]);
    });

    test("no empty read known: not watched", () => {
      const w = new TeardownWatch(
        () => 1e9,
        () => false,
        () => {},
        () => {},
      );
      expect(w.start(1, 0)).toBe(false);
    });
  },
);
