/** Pure decoding of proc connector messages and the per-CPU loss counter, on synthetic bytes. */
import { describe, expect, test } from "bun:test";
import { ConnectorSource } from "../../src/observe/connector.ts";
import {
  connectorControl,
  decodeProcEvent,
  decodeWaitStatus,
  kernelAtLeast,
  MARK_ENOBUFS,
  messages,
  parseCpuList,
  words,
  PROC_EVENT,
  SeqGaps,
} from "../../src/observe/_netlink-parse.ts";

/** A 76-byte connector event as the kernel lays it out on x86_64 / aarch64. */
function event(what: number, cpu: number, seq: number, tsNs: bigint, data: number[]): Uint8Array {
  const b = new Uint8Array(76);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 76, true);
  dv.setUint16(4, 3, true);
  dv.setUint32(16, 1, true);
  dv.setUint32(20, 1, true);
  dv.setUint32(24, seq, true);
  dv.setUint16(32, 40, true);
  dv.setUint32(36, what, true);
  dv.setUint32(40, cpu, true);
  dv.setBigUint64(44, tsNs, true); // unaligned on purpose, as in the kernel's layout
  for (const [i, v] of data.entries()) dv.setUint32(52 + 4 * i, v, true);
  return b;
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
};

const marker = (type: number) => {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setUint32(0, 16, true);
  new DataView(b.buffer).setUint16(4, type, true);
  return b;
};

describe("proc connector decoding", () => {
  test("fork, exec and exit events decode field by field", () => {
    const buf = concat(
      event(PROC_EVENT.fork, 1, 7, 123_456_789_012n, [100, 100, 200, 200]),
      marker(MARK_ENOBUFS),
      event(PROC_EVENT.exit, 0, 9, 5n, [200, 200, 768, 17, 100, 100]),
    );
    const msgs = [...messages(buf)];
    expect(msgs.map((m) => m.type)).toEqual([3, MARK_ENOBUFS, 3]);
    const fork = decodeProcEvent(buf, msgs[0]!);
    expect(fork).toEqual({
      what: PROC_EVENT.fork,
      cpu: 1,
      seq: 7,
      ack: 0,
      timestampNs: 123_456_789_012,
      data: [100, 100, 200, 200, 0, 0],
    });
    expect(decodeProcEvent(buf, msgs[1]!)).toBeUndefined();
    expect(decodeProcEvent(buf, msgs[2]!)?.data.slice(0, 3)).toEqual([200, 200, 768]);
  });

  test("a truncated or foreign message is not an event", () => {
    const e = event(PROC_EVENT.exec, 0, 1, 1n, [5, 5]);
    new DataView(e.buffer).setUint32(16, 2, true); // another connector index
    expect(decodeProcEvent(e, [...messages(e)][0]!)).toBeUndefined();
    const cut = event(PROC_EVENT.exec, 0, 1, 1n, [5, 5]).subarray(0, 60);
    expect([...messages(cut)]).toEqual([]); // nlmsg_len says 76: the walker stops
  });

  test("wait statuses: exit 3 → 768, SIGKILL → 9, core dump flag", () => {
    expect(decodeWaitStatus(768)).toEqual({ exitCode: 3 });
    expect(decodeWaitStatus(0)).toEqual({ exitCode: 0 });
    expect(decodeWaitStatus(9)).toEqual({ signal: 9 });
    expect(decodeWaitStatus(0x80 | 11)).toEqual({ signal: 11, coreDumped: true });
  });

  test("the subscribe request is the 40-byte form with our ack tag", () => {
    const b = connectorControl(1, 0xabcdef);
    const dv = new DataView(b.buffer);
    expect(b.byteLength).toBe(40);
    expect([dv.getUint32(0, true), dv.getUint16(4, true)]).toEqual([40, 3]);
    expect([dv.getUint32(16, true), dv.getUint32(20, true)]).toEqual([1, 1]);
    expect(dv.getUint32(28, true)).toBe(0xabcdef);
    expect([dv.getUint16(32, true), dv.getUint32(36, true)]).toEqual([4, 1]);
  });
});

describe("per-CPU sequence gaps", () => {
  test("count exactly the skipped numbers, per CPU", () => {
    const g = new SeqGaps();
    expect(g.observe(0, 10)).toBe(0); // baseline
    expect(g.observe(1, 500)).toBe(0); // another CPU's baseline
    expect(g.observe(0, 11)).toBe(0);
    expect(g.observe(0, 15)).toBe(3); // 12, 13, 14 lost
    expect(g.observe(1, 501)).toBe(0);
    expect(g.observe(1, 600)).toBe(98);
  });

  test("wrap-around counts; a step back does not", () => {
    const g = new SeqGaps();
    g.observe(0, 0xfffffffe);
    expect(g.observe(0, 1)).toBe(2); // 0xffffffff and 0 lost
    expect(g.observe(0, 0)).toBe(0);
    expect(g.observe(0, 1)).toBe(0);
  });
});

test("CPU lists and kernel versions", () => {
  expect(parseCpuList("0-3,5,7-8\n")).toEqual([0, 1, 2, 3, 5, 7, 8]);
  expect(parseCpuList("0")).toEqual([0]);
  expect(kernelAtLeast("6.18.44-fc-v657", 6, 6)).toBe(true);
  expect(kernelAtLeast("6.1.0-13-amd64", 6, 6)).toBe(false);
  expect(kernelAtLeast("5.19.0", 6, 6)).toBe(false);
});

describe("ConnectorSource's in-place parser against the readable twin", () => {
  // parse() is the hot path (every message of the run, as 32-bit words); decodeProcEvent is its
  // readable twin: on random buffers both must give the same events, losses and ACK
  // mulberry32: a seeded generator whose low bits are as random as its high ones
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  /** a random message: a proc event of any kind and length 52–76, a marker, or another connector's */
  function randomMessage(): Uint8Array {
    const k = rnd(20);
    if (k === 0) return marker(MARK_ENOBUFS);
    if (k === 1) return marker(0xfffe);
    const what = [PROC_EVENT.fork, PROC_EVENT.exec, PROC_EVENT.exit, PROC_EVENT.none, 0x80][rnd(5)]!;
    const pid = 100 + rnd(5);
    const tgid = rnd(3) === 0 ? 100 + rnd(5) : pid;
    const data = [pid, tgid, rnd(3) === 0 ? 100 + rnd(5) : pid, rnd(2) ? tgid : pid, rnd(70000), rnd(9)];
    const e = event(what, rnd(3), rnd(1000), BigInt(rnd(2 ** 30)) * 4096n + BigInt(rnd(4096)), data);
    // another connector: its index, or the proc connector's index with another value
    if (k === 2) new DataView(e.buffer).setUint32(rnd(2) ? 16 : 20, 2, true);
    const len = [52, 56, 60, 64, 68, 76, 76, 76][rnd(8)]!;
    new DataView(e.buffer).setUint32(0, len, true);
    return e.subarray(0, (len + 3) & ~3);
  }
  function twin(buf: Uint8Array, threads: boolean) {
    const out: object[] = [];
    for (const m of messages(buf)) {
      if (m.type === MARK_ENOBUFS) out.push(["loss", "ENOBUFS"]);
      if (m.type === 0xfffe) out.push(["loss", "truncated"]);
      const e = decodeProcEvent(buf, m);
      if (!e) continue;
      const at = e.timestampNs / 1e6;
      const [w0 = 0, w1 = 0, w2 = 0, w3 = 0, , w5 = 0] = e.data;
      if (e.what === PROC_EVENT.fork && (threads || w2 === w3))
        out.push({ type: "fork", at, ppid: w0, ptgid: w1, pid: w2, tgid: w3 });
      if (e.what === PROC_EVENT.exec) out.push({ type: "exec", at, pid: w0, tgid: w1 });
      if (e.what === PROC_EVENT.exit && (threads || w0 === w1))
        // parent_tgid (word 5): the parent the kernel notified, when the message holds it
        out.push({
          type: "exit",
          at,
          pid: w0,
          tgid: w1,
          ...decodeWaitStatus(w2),
          ...(w5 > 0 ? { parentTgid: w5 } : {}),
        });
    }
    return out;
  }
  function parsed(buf: Uint8Array, threads: boolean) {
    const src = new ConnectorSource({ threads });
    const out: object[] = [];
    // (random sequence numbers make gaps: counted, and not what this compares)
    src.onEvent((e) => {
      if (e.type !== "loss") out.push(e);
      else if (e.reason !== "seq-gap") out.push(["loss", e.reason]);
    });
    (src as unknown as { parse(b: Uint8Array, d: number): void }).parse(buf, 0);
    return out;
  }

  test("2,000 random buffers, aligned and not, with and without threads: the same events", () => {
    for (let i = 0; i < 2000; i++) {
      const parts: Uint8Array[] = [];
      for (let j = rnd(12); j >= 0; j--) parts.push(randomMessage());
      let buf = concat(...parts);
      // a cut tail (the walker stops there), or the buffer at an odd offset (parse reads a copy)
      if (rnd(5) === 0) buf = buf.subarray(0, Math.max(0, buf.byteLength - 1 - rnd(40)));
      if (rnd(4) === 0) {
        const shifted = new Uint8Array(buf.byteLength + 1);
        shifted.set(buf, 1);
        buf = shifted.subarray(1);
      }
      const threads = rnd(2) === 0;
      expect(parsed(buf, threads)).toEqual(twin(buf, threads));
    }
  });
});

test("words() answers for the very view it is given: another view of one buffer, or its bytes changed", () => {
  // the drain buffer is one ArrayBuffer, handed out as a new view each drain (and compacted in place)
  const mem = new Uint8Array(32);
  const dv = new DataView(mem.buffer);
  for (let i = 0; i < 8; i++) dv.setUint32(4 * i, i, true);
  const a = mem.subarray(0, 16);
  expect([...words(a)!]).toEqual([0, 1, 2, 3]);
  // the same memory seen from byte 8: its own words, not the cached view of `a`
  expect([...words(mem.subarray(8, 24))!]).toEqual([2, 3, 4, 5]);
  // a view of the same length at another offset, then `a` again after its bytes changed
  expect([...words(mem.subarray(16, 32))!]).toEqual([4, 5, 6, 7]);
  dv.setUint32(0, 42, true);
  expect(words(a)![0]).toBe(42);
  // unaligned: none (callers read an aligned copy)
  expect(words(mem.subarray(1, 17))).toBeUndefined();
  expect(words(mem.subarray(0, 15))!.length).toBe(3);
});
