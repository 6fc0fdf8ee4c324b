/**
 * tn_drain (ffi/netlink.c) on a real socket: datagrams a peer multicasts on NETLINK_USERSOCK (python3's
 * socket module, root), read back by NetlinkSocket.drain() as one stream of netlink messages, in order,
 * each whole, each 4-byte aligned; a datagram larger than a slot becomes a MARK_TRUNC marker in its
 * place; a receive queue that overflowed shows a MARK_ENOBUFS marker; maxMsgs caps a drain.
 */
import { describe, expect, test } from "bun:test";
import { MARK_ENOBUFS, MARK_TRUNC, NetlinkSocket } from "../../ffi/netlink.ts";

const NETLINK_USERSOCK = 2;
const GROUP = 1;
const linuxRoot = process.platform === "linux" && process.getuid?.() === 0;

/**
 * Send one datagram per size to multicast group 1 of NETLINK_USERSOCK: nlmsghdr{len, type 0x10,
 * seq = index}, then the payload bytes (index + offset) & 0xff. The broadcast is made before the
 * unicast to port 0, which has no socket behind it on this protocol and is refused.
 */
function multicast(sizes: number[]) {
  const py = `
import socket, struct, sys
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, ${NETLINK_USERSOCK})
s.bind((0, 0))
for i, n in enumerate(int(x) for x in sys.argv[1:]):
    body = bytes((i + k) & 0xff for k in range(n - 16))
    try:
        s.sendto(struct.pack("=IHHII", n, 0x10, 0, i, 0) + body, (0, ${GROUP}))
    except ConnectionRefusedError:
        pass  # delivered to the group; the unicast to port 0 (no kernel socket here) is refused
`;
  const r = Bun.spawnSync(["python3", "-c", py, ...sizes.map(String)], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`python3 sender: ${r.stderr.toString()}`);
}

type Msg = { len: number; type: number; seq: number; ok: boolean; at: number };

/** The netlink messages of a drained buffer, each checked against the sender's payload pattern. */
function parse(b: Uint8Array): Msg[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Msg[] = [];
  for (let at = 0; at + 16 <= b.byteLength; ) {
    const len = dv.getUint32(at, true);
    const type = dv.getUint16(at + 4, true);
    const seq = dv.getUint32(at + 8, true);
    let ok = true;
    if (type === 0x10) for (let k = 16; k < len; k++) if (b[at + k] !== ((seq + k - 16) & 0xff)) ok = false;
    out.push({ len, type, seq, ok, at });
    at += (len + 3) & ~3;
  }
  return out;
}

describe.skipIf(!linuxRoot)(
  "NetlinkSocket.drain on a real socket (recvmmsg into slots, packed in order)",
  () => {
    test("every datagram whole, in order, 4-byte aligned; one larger than a slot becomes MARK_TRUNC in its place", () => {
      // a buffer that holds all ~310 KB of them (the default holds less: a capped drain, next test)
      const sock = NetlinkSocket.open(NETLINK_USERSOCK, 1 << (GROUP - 1), 1 << 20);
      try {
        sock.setReceiveBuffer(16 << 20);
        // odd sizes (alignment), the slot's size exactly (8,192: kept) and one byte more (cut)
        const pattern = [16, 17, 76, 77, 903, 8192, 8193, 20000, 33];
        const sizes = Array.from({ length: 300 }, (_, i) => pattern[i % pattern.length]!);
        multicast(sizes);
        const got = parse(sock.drain());
        expect(sock.capped).toBe(false);
        expect(got).toHaveLength(sizes.length);
        for (const [i, m] of got.entries()) {
          expect(m.at % 4).toBe(0);
          if (sizes[i]! > 8192) {
            expect(m).toMatchObject({ type: MARK_TRUNC, len: 16 });
          } else {
            expect(m).toMatchObject({ type: 0x10, len: sizes[i], seq: i, ok: true });
          }
        }
        expect(sock.drain().byteLength).toBe(0);
      } finally {
        sock.close();
      }
    });

    test("maxMsgs caps a drain (capped true) and the next drain goes on where it stopped", () => {
      const sock = NetlinkSocket.open(NETLINK_USERSOCK, 1 << (GROUP - 1));
      try {
        sock.setReceiveBuffer(16 << 20);
        multicast(Array.from({ length: 150 }, () => 76));
        const first = parse(sock.drain(100));
        expect(sock.capped).toBe(true);
        expect(first.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i));
        const rest = parse(sock.drain(100));
        expect(sock.capped).toBe(false);
        expect(rest.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
      } finally {
        sock.close();
      }
    });

    test("a full buffer caps a drain too: the default buffer's drains hand over 540 KB in order, none cut", () => {
      const sock = NetlinkSocket.open(NETLINK_USERSOCK, 1 << (GROUP - 1));
      try {
        sock.setReceiveBuffer(16 << 20);
        multicast(Array.from({ length: 600 }, () => 900));
        const first = parse(sock.drain());
        expect(sock.capped).toBe(true);
        const got = [...first];
        for (let b = sock.drain(); b.byteLength > 0; b = sock.drain()) got.push(...parse(b));
        expect(sock.capped).toBe(false);
        expect(first.length).toBeLessThan(600);
        expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 600 }, (_, i) => i));
        expect(got.every((m) => m.ok && m.len === 900)).toBe(true);
      } finally {
        sock.close();
      }
    });

    test("an overflowed receive queue: a MARK_ENOBUFS marker, and every datagram kept is whole and in order", () => {
      const sock = NetlinkSocket.open(NETLINK_USERSOCK, 1 << (GROUP - 1));
      try {
        sock.setReceiveBuffer(4096); // the kernel's floor: a few datagrams fit
        multicast(Array.from({ length: 400 }, () => 900));
        const got: Msg[] = [];
        for (let b = sock.drain(); b.byteLength > 0; b = sock.drain()) got.push(...parse(b));
        const marks = got.filter((m) => m.type === MARK_ENOBUFS);
        const kept = got.filter((m) => m.type === 0x10);
        expect(marks.length).toBeGreaterThanOrEqual(1);
        expect(kept.length).toBeGreaterThan(0);
        expect(kept.length).toBeLessThan(400);
        expect(kept.every((m) => m.ok && m.len === 900)).toBe(true);
        const seqs = kept.map((m) => m.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      } finally {
        sock.close();
      }
    });
  },
);
