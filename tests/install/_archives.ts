/**
 * Builds release tarballs, good and hostile, byte by byte with node-tar's own header encoder, so each
 * attack is exactly the one named (no system tar normalising it away).
 */
import { constants, crc32, deflateRawSync, gzipSync } from "node:zlib";
import { Header, Pax } from "tar";

export interface RawEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "BlockDevice" | "FIFO";
  mode?: number;
  body?: Uint8Array;
  /** declared size when there is no body */
  size?: number;
  linkpath?: string;
  /** a PAX extended header that overrides the ustar fields */
  pax?: { path?: string; linkpath?: string };
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

function header(e: RawEntry): Buffer {
  const type = e.type ?? "File";
  const size = e.body?.length ?? e.size ?? 0;
  const block = Buffer.alloc(512);
  const h = new Header({
    path: e.path.length > 99 ? e.path.slice(-99) : e.path,
    mode: e.mode ?? (type === "Directory" ? 0o755 : 0o644),
    uid: 0,
    gid: 0,
    size: type === "File" ? size : 0,
    mtime: new Date(1_700_000_000_000),
    type,
    linkpath: e.linkpath,
    uname: "root",
    gname: "root",
    devmaj: type.endsWith("Device") ? 1 : 0,
    devmin: type.endsWith("Device") ? 3 : 0,
  });
  h.encode(block, 0);
  return block;
}

/** An uncompressed tar stream of `entries`. Paths longer than 99 bytes get a PAX path record. */
export function tarStream(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const pax = e.pax ?? (e.path.length > 99 ? { path: e.path } : undefined);
    if (pax) parts.push(new Pax({ ...pax, mtime: new Date(1_700_000_000_000) } as never).encode());
    parts.push(header(e));
    if (e.body && (e.type ?? "File") === "File") parts.push(Buffer.from(e.body), pad(e.body.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const tgz = (entries: RawEntry[], level = 9) => gzipSync(tarStream(entries), { level });

/** A plausible binary: incompressible bytes. */
export const fakeBinary = (bytes = 256 * 1024) => crypto.getRandomValues(new Uint8Array(bytes));

/**
 * One gzip member holding the tar of `entries` followed by `zeros` zero bytes (a multiple of 1 MiB):
 * the bomb hidden after the tar's end. Built without inflating anything: each MiB of zeros is the same
 * self-contained deflate run (a full flush resets the window), repeated; CRC-32 and length are exact,
 * so a reader that inflates it all finds a valid archive. 3 GiB of zeros make ~3.2 MB.
 */
export function tgzWithZerosAfter(entries: RawEntry[], zeros: number): Buffer {
  const MiB = 1 << 20;
  if (zeros % MiB !== 0) throw new Error("zeros must be a multiple of 1 MiB");
  const tar = tarStream(entries);
  const full = { level: 9, finishFlush: constants.Z_FULL_FLUSH };
  const zeroMiB = Buffer.alloc(MiB);
  const run = deflateRawSync(zeroMiB, full);
  let crc = crc32(tar);
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), deflateRawSync(tar, full)];
  for (let i = 0; i < zeros / MiB; i++) {
    parts.push(run);
    crc = crc32(zeroMiB, crc);
  }
  parts.push(deflateRawSync(Buffer.alloc(0))); // the final, empty block
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((tar.length + zeros) % 2 ** 32, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}
