/** Texts by position, kept as a few long strings (src/steps/_columns.ts keeps each process's argv text so). */
import { dfgOnly } from "../core/jit-tier.ts";

/** a typed array grown to `size`, its values kept */
export const grown = <A extends Float64Array | Int32Array | Uint8Array>(a: A, size: number): A => {
  const b = new (a.constructor as new (n: number) => A)(size);
  b.set(a);
  return b;
};

/** texts joined into one string (a string per text costs ~3× its characters) */
const TEXTS_PER_CHUNK = 4096;

/**
 * Strings by position, kept as a few long strings and each one's place in them: a 100,000-process run's
 * argv texts are ~5 MB, not 100,000 strings. `get` slices one out; `same` compares two in place.
 */
export class TextColumn {
  private chunks: string[] = [];
  private parts: string[] = [];
  private used = 0;
  private chunkOf: Int32Array;
  private startOf: Int32Array;
  /** -1: null */
  private lengthOf: Int32Array;

  constructor(capacity: number) {
    this.chunkOf = new Int32Array(capacity);
    this.startOf = new Int32Array(capacity);
    this.lengthOf = new Int32Array(capacity);
  }

  /** Set position i (each position once, in order) to `s`. */
  set(i: number, s: string | null): void {
    if (i >= this.chunkOf.length) {
      const size = Math.max(16, 2 * this.chunkOf.length);
      this.chunkOf = grown(this.chunkOf, size);
      this.startOf = grown(this.startOf, size);
      this.lengthOf = grown(this.lengthOf, size);
    }
    if (s === null) {
      this.lengthOf[i] = -1;
      return;
    }
    if (this.parts.length === TEXTS_PER_CHUNK) this.seal();
    this.chunkOf[i] = this.chunks.length;
    this.startOf[i] = this.used;
    this.lengthOf[i] = s.length;
    this.parts.push(s);
    this.used += s.length;
  }

  /** Join the texts set since the last seal into one string (get and same read joined texts only). */
  seal(): void {
    if (!this.parts.length) return;
    this.chunks.push(this.parts.join(""));
    this.parts = [];
    this.used = 0;
  }

  isNull(i: number): boolean {
    return this.lengthOf[i]! < 0;
  }

  get(i: number): string | null {
    const n = this.lengthOf[i]!;
    if (n < 0) return null;
    const start = this.startOf[i]!;
    return this.chunks[this.chunkOf[i]!]!.slice(start, start + n);
  }

  /** Whether positions i and j hold the same text (both null: true), nothing sliced. */
  same(i: number, j: number): boolean {
    const n = this.lengthOf[i]!;
    if (n !== this.lengthOf[j]!) return false;
    if (n < 0) return true;
    const a = this.chunks[this.chunkOf[i]!]!;
    const b = this.chunks[this.chunkOf[j]!]!;
    const x = this.startOf[i]!;
    const y = this.startOf[j]!;
    if (a === b && x === y) return true;
    for (let k = 0; k < n; k++) if (a.charCodeAt(x + k) !== b.charCodeAt(y + k)) return false;
    return true;
  }

  /** Position k takes what position order[k] held (the first n positions). */
  reorder(order: Int32Array): void {
    const pick = (from: Int32Array) => {
      const to = new Int32Array(order.length);
      for (let k = 0; k < order.length; k++) to[k] = from[order[k]!]!;
      return to;
    };
    this.chunkOf = pick(this.chunkOf);
    this.startOf = pick(this.startOf);
    this.lengthOf = pick(this.lengthOf);
  }
}

// once or more per process of a report (src/core/jit-tier.ts)
dfgOnly(
  TextColumn.prototype.set,
  TextColumn.prototype.get,
  TextColumn.prototype.same,
  TextColumn.prototype.isNull,
);
