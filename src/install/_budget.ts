/**
 * The inflated-byte budget of a release archive, checked on every byte gunzip produces — before the tar
 * parser sees it, including whatever follows the tar's end. It follows the tar's block structure on its
 * own (512-byte headers, each followed by its declared size rounded up to a block) and allows exactly:
 * the headers, the declared entry sizes (their sum capped by the caller), the two zero end blocks, and
 * padding up to the next 10,240-byte record. One byte more and the extraction stops.
 *
 * It reads only the ustar size field (octal or base-256) and, like node-tar, counts no body for a
 * directory. A PAX `size` override is not followed: for such an entry this walk and node-tar's differ,
 * which can only make this one stop earlier (a refusal), never allow more than the capped sum.
 */
const BLOCK = 512;
const RECORD = 10240;

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** The ustar size field (offset 124, 12 bytes): octal digits ended by NUL or space, or base-256. */
function sizeField(h: Uint8Array): number | undefined {
  const f = h.subarray(124, 136);
  if (f[0]! & 0x80) {
    if (f[0] === 0xff) return undefined; // negative
    let n = f[0]! & 0x7f;
    for (let i = 1; i < 12; i++) n = n * 256 + f[i]!;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const text = Buffer.from(f).toString("latin1").replace(/\0.*$/s, "").trim();
  return /^[0-7]*$/.test(text) ? (text === "" ? 0 : Number.parseInt(text, 8)) : undefined;
}

/** No body follows a directory header, whatever its size says (node-tar's rule, GNU tar's habit). */
function isDirectory(h: Uint8Array): boolean {
  const type = h[156];
  if (type === 0x35) return true; // '5'
  if (type !== 0x30 && type !== 0) return false; // '0' or NUL: a file, unless its name ends in '/'
  const nul = h.subarray(0, 100).indexOf(0);
  const nameEnd = nul === -1 ? 100 : nul;
  return nameEnd > 0 && h[nameEnd - 1] === 0x2f;
}

export class InflateBudget {
  /** every byte gunzip produced so far */
  inflated = 0;
  private header = new Uint8Array(BLOCK);
  private have = 0;
  private skip = 0;
  private zeroBlocks = 0;
  private declared = 0;
  private headers = 0;
  /** set once the two end blocks are seen: the most bytes the whole stream may hold */
  private limit: number | undefined;

  /**
   * @param maxDeclared the most the entries (meta entries included) may declare in total, bytes
   * @param maxHeaders the most header blocks (entries and their PAX/long-name records)
   */
  constructor(
    private readonly maxDeclared: number,
    private readonly maxHeaders = 64,
  ) {}

  /** Account for the next inflated chunk; returns why the stream must stop, or undefined. */
  push(chunk: Uint8Array): string | undefined {
    const start = this.inflated;
    this.inflated += chunk.length;
    for (let i = 0; i < chunk.length && this.limit === undefined; ) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(BLOCK - this.have, chunk.length - i);
      this.header.set(chunk.subarray(i, i + n), this.have);
      this.have += n;
      i += n;
      if (this.have < BLOCK) break;
      this.have = 0;
      const why = this.onBlock(start + i);
      if (why) return why;
    }
    if (this.limit !== undefined && this.inflated > this.limit)
      return `it inflates past the end of its tar (${this.limit} bytes) — data hidden after the archive, or a decompression bomb`;
    return undefined;
  }

  /** A whole header-position block ending at stream offset `end`. */
  private onBlock(end: number): string | undefined {
    if (this.header.every((b) => b === 0)) {
      if (++this.zeroBlocks === 2) this.limit = roundUp(end, RECORD);
      return undefined;
    }
    this.zeroBlocks = 0;
    if (++this.headers > this.maxHeaders) return `more than ${this.maxHeaders} tar headers`;
    const size = sizeField(this.header);
    if (size === undefined) return "invalid tar header (unreadable size field)";
    const body = isDirectory(this.header) ? 0 : size;
    this.declared += body;
    if (this.declared > this.maxDeclared)
      return `its entries declare more than ${this.maxDeclared} bytes — more than the release manifest allows`;
    this.skip = roundUp(body, BLOCK);
    return undefined;
  }
}
