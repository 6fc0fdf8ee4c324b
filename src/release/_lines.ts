/**
 * How minisign reads its files, byte for byte, so that `tracer verify` accepts exactly what `minisign -V`
 * accepts (minisign 0.11, src/minisign.c sig_load / pubkey_load_file, src/helpers.c trim):
 *
 * - a file is read with fgets() into fixed buffers: each "line" is at most size−1 bytes, up to and
 *   including the first LF; an over-long line is split, its rest read as the next "line";
 * - trim() sees the line only up to its first NUL, cuts it at its first CR or LF, and reports whether an
 *   LF was in that part (minisign refuses a missing LF on the lines where it checks: a NUL, an
 *   over-long line or a file ending early all look like that);
 * - nothing after the last buffer minisign reads is ever looked at, so a file is read only up to the
 *   sum of those buffers (./format.ts SIG_READ_MAX, KEY_READ_MAX), however large it is.
 */
import { NotRegularFile, readRegularHead } from "../core/regular-file.ts";
import { malformed } from "./_errors.ts";

const LF = 0x0a;
const CR = 0x0d;

/** fgets(3) over a byte buffer. */
export class LineReader {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  /** The next at most `size − 1` bytes, through the first LF; undefined at the end (fgets → NULL). */
  next(size: number): Uint8Array | undefined {
    if (this.pos >= this.bytes.length) return undefined;
    const limit = Math.min(this.bytes.length, this.pos + size - 1);
    let end = this.bytes.indexOf(LF, this.pos);
    end = end === -1 || end >= limit ? limit : end + 1;
    const chunk = this.bytes.subarray(this.pos, end);
    this.pos = end;
    return chunk;
  }
}

/** minisign's trim() of a C string: `text` ends at the first NUL, CR or LF; `newline` is an LF before any NUL. */
export function trim(chunk: Uint8Array): { text: Uint8Array; newline: boolean } {
  const nul = chunk.indexOf(0);
  const str = nul === -1 ? chunk : chunk.subarray(0, nul);
  let cut = str.length;
  for (let i = 0; i < str.length; i++)
    if (str[i] === CR || str[i] === LF) {
      cut = i;
      break;
    }
  return { text: str.subarray(0, cut), newline: str.includes(LF) };
}

/**
 * The first `cap` bytes of the file at `path` (src/core/regular-file.ts). Only a regular file is read: a
 * FIFO or device as a signature or key is refused rather than waited on. Errors from open or read
 * propagate (ENOENT, EACCES…).
 */
export function readHead(path: string, cap: number, what: string): Uint8Array {
  try {
    return readRegularHead(path, cap);
  } catch (e) {
    throw e instanceof NotRegularFile ? malformed(what, `${path} ${e.message}`) : e;
  }
}
