/** Texts by position, kept as a few long strings (src/steps/_columns.ts keeps each process's argv text so). */
import { dfgOnly } from "../core/jit-tier.ts";

/** a typed array grown to `size`, its values kept */
export const grown = <A extends Float64Array | Int32Array | Uint32Array | Uint8Array>(
  a: A,
  size: number,
): A => {
  const b = new (a.constructor as new (n: number) => A)(size);
  b.set(a);
  return b;
};

/** texts joined into one string (a string per text costs ~3× its characters) */
const TEXTS_PER_CHUNK = 4096;
/**
 * characters of the texts set since the last seal, whole (a head sliced off a text can keep the whole
 * text alive until the join copies it), past which they are joined: 4,096 cut 64 KiB texts would hold 256 MB
 */
const HELD_PER_CHUNK = 1 << 20;

/** this process's secret: a hash no one outside it can aim at (below) */
let secret: Uint8Array | undefined;

/**
 * HMAC-SHA-256 of `s` (its UTF-8: the store's argv texts are JSON.stringify's, lone surrogates escaped)
 * under a random key made once per process, into `into` (its first 32 of 64 bytes): what tells two long command lines
 * apart when only their heads are kept. Recorded argv is the attacker's: an unkeyed fast hash (xxHash3,
 * public secret) let a pair of printable lines that differ past the head be built in milliseconds with
 * the same hash, so a crashing child read as a fork of its parent and its failure vanished (an attack, 2
 * Dec 2026). Keyed, a collision of even the 64 bits kept needs the key, which never leaves the process.
 * ~1 GB/s here (SHA extensions): 200 ms for 100,000 lines of 2 KB.
 */
export function textKey(s: string, into: Uint8Array): void {
  secret ??= crypto.getRandomValues(new Uint8Array(32));
  new Bun.CryptoHasher("sha256", secret).update(s).digest(into);
}

/**
 * Strings by position, kept as a few long strings and each one's place in them: a 100,000-process run's
 * argv texts are ~5 MB, not 100,000 strings. `get` slices one out; `same` compares two in place.
 *
 * With a `cap`, a text longer than `cap` characters keeps only its first `cap` (its head), its whole
 * length and a 64-bit keyed hash of the whole (textKey): memory bounded by the processes, not by
 * their command lines (100,000 of 2 KB each held 489 MB to print a 1 KB table). Such a text is `cut`:
 * `get` does not give it (its owner reads it whole again where it needs it), `same` still tells two apart
 * exactly in practice (length, hash and head alike).
 */
export class TextColumn {
  private chunks: string[] = [];
  private parts: string[] = [];
  private used = 0;
  private held = 0;
  private chunkOf: Int32Array;
  private startOf: Int32Array;
  /** -1: null; else the whole text's length (more than cap: only its head kept) */
  private lengthOf: Int32Array;
  /** a cut text's hash, its low and high 32 bits (0 for one kept whole); empty until a text is cut */
  private hashLo = new Uint32Array(0);
  private hashHi = new Uint32Array(0);
  /** (Bun's digest into a buffer asks for 64 bytes, the largest digest it may write) */
  private readonly digest = new Uint8Array(64);
  private readonly digest32 = new Uint32Array(this.digest.buffer);

  /** `cap`: characters kept of a text at most (Infinity: every text whole) */
  constructor(
    capacity: number,
    readonly cap = Number.POSITIVE_INFINITY,
  ) {
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
    if (this.parts.length === TEXTS_PER_CHUNK || this.held > HELD_PER_CHUNK) this.seal();
    let kept = s;
    if (s.length > this.cap) {
      kept = s.slice(0, this.cap);
      if (this.hashLo.length < this.chunkOf.length) {
        this.hashLo = grown(this.hashLo, this.chunkOf.length);
        this.hashHi = grown(this.hashHi, this.chunkOf.length);
      }
      textKey(s, this.digest);
      this.hashLo[i] = this.digest32[0]!;
      this.hashHi[i] = this.digest32[1]!;
    } else if (this.hashLo.length) {
      this.hashLo[i] = 0;
      this.hashHi[i] = 0;
    }
    this.chunkOf[i] = this.chunks.length;
    this.startOf[i] = this.used;
    this.lengthOf[i] = s.length;
    this.parts.push(kept);
    this.used += kept.length;
    this.held += s.length;
  }

  /** Join the texts set since the last seal into one string (get and same read joined texts only). */
  seal(): void {
    if (!this.parts.length) return;
    this.chunks.push(this.parts.join(""));
    this.parts = [];
    this.used = 0;
    this.held = 0;
  }

  isNull(i: number): boolean {
    return this.lengthOf[i]! < 0;
  }

  /** Whether position i keeps only the head of its text (get gives it not). */
  isCut(i: number): boolean {
    return this.lengthOf[i]! > this.cap;
  }

  /** The text at position i (null: none), or its head when it is cut (isCut): never to be taken for the whole. */
  head(i: number): string | null {
    const n = this.lengthOf[i]!;
    if (n < 0) return null;
    const start = this.startOf[i]!;
    return this.chunks[this.chunkOf[i]!]!.slice(start, start + Math.min(n, this.cap));
  }

  /** The text at position i (null: none); throws for a cut one (isCut), whose whole is not kept. */
  get(i: number): string | null {
    if (this.isCut(i)) throw new Error(`text ${i} is cut: only its head is kept`);
    return this.head(i);
  }

  /**
   * Whether positions i and j hold the same text (both null: true), nothing sliced: compared in place,
   * or for cut texts by their whole length, hash and head.
   */
  same(i: number, j: number): boolean {
    const n = this.lengthOf[i]!;
    if (n !== this.lengthOf[j]!) return false;
    if (n < 0) return true;
    if (n > this.cap && (this.hashLo[i] !== this.hashLo[j] || this.hashHi[i] !== this.hashHi[j]))
      return false;
    const a = this.chunks[this.chunkOf[i]!]!;
    const b = this.chunks[this.chunkOf[j]!]!;
    const x = this.startOf[i]!;
    const y = this.startOf[j]!;
    if (a === b && x === y) return true;
    const m = Math.min(n, this.cap);
    for (let k = 0; k < m; k++) if (a.charCodeAt(x + k) !== b.charCodeAt(y + k)) return false;
    return true;
  }

  /** Position k takes what position order[k] held (the first n positions). */
  reorder(order: Int32Array): void {
    const pick = <A extends Int32Array | Uint32Array>(from: A): A => {
      const to = new (from.constructor as new (n: number) => A)(order.length);
      for (let k = 0; k < order.length; k++) to[k] = from[order[k]!]!;
      return to;
    };
    this.chunkOf = pick(this.chunkOf);
    this.startOf = pick(this.startOf);
    this.lengthOf = pick(this.lengthOf);
    if (this.hashLo.length) {
      this.hashLo = pick(this.hashLo);
      this.hashHi = pick(this.hashHi);
    }
  }
}

// once or more per process of a report (src/core/jit-tier.ts)
dfgOnly(
  TextColumn.prototype.set,
  TextColumn.prototype.get,
  TextColumn.prototype.head,
  TextColumn.prototype.isCut,
  TextColumn.prototype.same,
  TextColumn.prototype.isNull,
);
