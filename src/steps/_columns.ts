/**
 * A run's processes as columns: the figures steps roll up, one typed array each (NaN for a figure not
 * recorded), each command line as its stored text (JSON, parsed again only for the processes a report
 * names or prints), and what names each process (its rule, its Nextflow work dir) worked out once as it
 * is read. No object per process: a 100,000-process run is ~13 MB of numbers and its command lines'
 * text. groupColumns (src/steps/index.ts) groups from these alone.
 */
import { type Rule, type RuleSet, classifier } from "../rules/index.ts";
import { dfgOnly } from "../core/jit-tier.ts";
import { TextColumn, grown } from "./_text.ts";
import { indexOfIds } from "./_tree.ts";
import { withCutMark } from "./_cut.ts";
import { nextflowWorkdir } from "./_workflow.ts";
import type { StepProcess } from "./types.ts";

/** What names a process: a rule's kind, name and rendered display. */
export interface Named {
  name: string;
  kind: "tool" | "workflow" | "script";
  display: string;
}

/** Command lines of processes by position. */
export interface CommandLines {
  argv(i: number): string[] | null;
  comm(i: number): string | null;
  /** argv[0] (undefined: no argv, or an empty one) */
  first(i: number): string | undefined;
  /**
   * the command line as a step shows it: argv joined by spaces, else `[comm]`'s (src/steps/_rollup.ts),
   * and cutMark's note when argv holds only the head of it
   */
  command(i: number): string;
  /** bytes of the whole command line when argv holds only its head, else undefined */
  cutBytes(i: number): number | undefined;
  /**
   * the first command line the process exec'd itself, once it exec'd another (a shell that ran its
   * last command in its own place: `bash -c 'A; B'` is B, prior `bash -c 'A; B'`), else null
   */
  prior(i: number): string[] | null;
  /** prior(i) as a step shows it: joined by spaces, with cutMark's note when it holds only its head */
  priorCommand(i: number): string | null;
}

/** A command line as a step shows it: its argv joined by spaces, or its comm when it has no argv. */
export const commandOf = (argv: readonly string[] | null, comm: string | null): string =>
  (argv?.length ? argv : [comm ?? "?"]).join(" ");

/** codes of process names: no rule names it; a fork that did not exec (part of its parent) */
export const UNNAMED = -1;
export const FORK = -2;

/** The figure columns, in StepProcess's names; NaN: not recorded (null). */
export const FIGURES = [
  "startedAt",
  "endedAt",
  "durationUs",
  "exitCode",
  "signal",
  "oomLimitKb",
  "userUs",
  "systemUs",
  "peakRssKb",
  "rchar",
  "wchar",
  "readBytes",
  "writeBytes",
] as const;
export type Figure = (typeof FIGURES)[number];

export interface StepColumns extends Record<Figure, Float64Array> {
  n: number;
  id: Float64Array;
  pid: Float64Array;
  /**
   * the parent in the steps' tree (NaN: none): the recorded parent, except for a process forked before
   * its parent's last exec (`bash -c 'A; B'` runs B in place of itself after forking A): A was the
   * earlier program's child, not B's, and takes the parent's own parent (finish)
   */
  parentId: Float64Array;
  /** epoch ms of the process's last exec, NaN: none seen (StepProcess.execAt) */
  execAt: Float64Array;
  /**
   * epoch ms its final image began (its last exec) where the earlier image had children of its own
   * (`bash -c 'A; B'`: bash forks A, then execs B) and the CPU it had used by then is known
   * (execCpuUs), else NaN: from there on the process is B, and a step it roots starts there, without
   * that CPU (finish; not where a recipe, job or task holds A)
   */
  imageStartedAt: Float64Array;
  /** CPU (µs) the process had used at its last exec, NaN: not known (StepProcess.execCpuUs) */
  execCpuUs: Float64Array;
  /** KiB: the peak RSS of the images its execs replaced, NaN: not known (StepProcess.execPeakRssKb) */
  execPeakKb: Float64Array;
  /** bytes of the whole command line when argv holds only its head (StepProcess.argvTruncated), else NaN */
  argvCut: Float64Array;
  oomKilled: Uint8Array;
  /**
   * 1: its peak RSS is only a lower bound, its last /proc sample's VmHWM (peakFromSamples: a process
   * still running at the run's end; one whose exit carried no peak — proc-poll, connector without
   * taskstats —, CMD among them), so no sum bounds its step
   */
  peakLower: Uint8Array;
  /** index into names, UNNAMED, or FORK (a fork that did not exec: its argv is its parent's) */
  code: Int32Array;
  names: Named[];
  /** index into workdirs of the process's Nextflow task work dir (nextflowWorkdir), -1: none */
  workdir: Int32Array;
  workdirs: string[];
  /**
   * each process's argv as the store keeps it (JSON.stringify's text: the same text is the same argv;
   * null: none): a fork that did not exec has its parent's
   */
  argvText: TextColumn;
  lines: CommandLines;
}

/** A recorded figure or NaN. */
export const num = (v: number | null | undefined): number => (v === null || v === undefined ? Number.NaN : v);
/**
 * 1 when a process's peak RSS is its last /proc sample's (the store's `figures`: "proc", or
 * "wait4+proc" for CMD, whose wait4 max RSS counts tracer's memory): a lower bound, else 0
 */
export const peakFromSamples = (figures: string | null | undefined): number =>
  figures === "proc" || figures === "wait4+proc" ? 1 : 0;
/** NaN (not recorded) as null. */
export const orNull = (v: number): number | null => (Number.isNaN(v) ? null : v);
/** NaN (not recorded) as 0 (a sum counts an unknown figure as 0). */
export const or0 = (v: number): number => (Number.isNaN(v) ? 0 : v);

/**
 * Characters of a process's argv text (JSON) a report keeps when it can read the whole again from the
 * store (ColumnsBuilder's `whole`): enough for argv[0] and most command lines whole; a longer one keeps
 * this head, its length and a hash (src/steps/_text.ts), and is read whole again only for a process the
 * report names or prints. 256: a 100,000-process run's heads are 26 MB at most (512: the table of
 * 100,000 × 2 KB argv peaked 26 MB higher); argv[0] (the executable an `other` step is grouped by) is
 * read off the head when it ends there.
 */
export const ARGV_HEAD_CHARS = 256;

/** distinct command lines remembered while classifying (bounds the memo on runs where none repeats) */
const MEMO = 8192;
/** windows the memo rests after one where command lines did not repeat */
const MEMO_REST = 3;

/**
 * `f`, remembering its last answer: a process with the previous one's argv array (by identity, as the
 * store shares it) and the same `also` field gets the same answer. `f` must depend on nothing else.
 */
function lastOf<T>(also: (p: StepProcess) => string | null, f: (p: StepProcess) => T): (p: StepProcess) => T {
  let known = false;
  let argv: string[] | null = null;
  let other: string | null = null;
  let last: T;
  const lastOrNew = (p: StepProcess) => {
    const o = also(p);
    if (!known || p.argv !== argv || o !== other) {
      known = true;
      argv = p.argv;
      other = o;
      last = f(p);
    }
    return last;
  };
  dfgOnly(lastOrNew, also, f);
  return lastOrNew;
}

/** strings by index, each distinct one once */
function interner() {
  const list: string[] = [];
  const index = new Map<string, number>();
  const of = (s: string) => {
    let k = index.get(s);
    if (k === undefined) {
      k = list.length;
      list.push(s);
      index.set(s, k);
    }
    return k;
  };
  return { list, of, clear: () => index.clear() };
}

/**
 * Columns made one process at a time, in the order given (`add`), each process classified by `rules`
 * as it comes: nothing of the process is kept but its figures and its codes. `finish` hands them over.
 */
export class ColumnsBuilder {
  private n = 0;
  private cap: number;
  private c: Omit<StepColumns, "n" | "lines" | "names" | "workdirs" | "argvText">;
  private readonly names: Named[] = [];
  private readonly workdirs = interner();
  private readonly argvText: TextColumn;
  /** prior command lines by row id (few processes have one), and their whole length when cut */
  private readonly prior = new Map<number, { argv: string[]; cut: number | null }>();
  private comm: (string | null)[] = [];
  private readonly codeOf: (p: StepProcess) => number;
  private readonly workdirOf: (p: StepProcess) => number;
  private memoOn = false;
  /** the process being added has a short enough command line for a memo key (ARGV_HEAD_CHARS) */
  private memoable = false;
  private hits = 0;
  private memoOff = 0;
  private readonly seen = new Map<string, number>();
  /** processes classified (forks are not), for the memo's windows */
  private classified = 0;

  /**
   * `whole`: the argv text (JSON) of the process with this row id as the store holds it, null for none:
   * given, each text keeps only its head (ARGV_HEAD_CHARS) and is read again whole where a command line
   * is parsed or shown; not given, every text is kept whole
   */
  constructor(
    rules: RuleSet,
    capacity = 1024,
    private readonly whole?: (id: number) => string | null,
  ) {
    this.cap = Math.max(16, capacity);
    this.argvText = new TextColumn(this.cap, whole ? ARGV_HEAD_CHARS : Number.POSITIVE_INFINITY);
    const f = () => new Float64Array(this.cap);
    this.c = {
      id: f(),
      pid: f(),
      parentId: f(),
      execAt: f(),
      imageStartedAt: f(),
      execCpuUs: f(),
      execPeakKb: f(),
      argvCut: f(),
      startedAt: f(),
      endedAt: f(),
      durationUs: f(),
      exitCode: f(),
      signal: f(),
      oomLimitKb: f(),
      userUs: f(),
      systemUs: f(),
      peakRssKb: f(),
      rchar: f(),
      wchar: f(),
      readBytes: f(),
      writeBytes: f(),
      oomKilled: new Uint8Array(this.cap),
      peakLower: new Uint8Array(this.cap),
      code: new Int32Array(this.cap),
      workdir: new Int32Array(this.cap),
    };
    const classify = classifier(rules, { matchOnly: true });
    // kind and name → display → index in names (a rule's kind and name as one string, built once per rule)
    const nameIndex = new Map<string, Map<string, number>>();
    const ruleKeys = new Map<Rule, string>();
    // a process's code from its command line; the previous process's again when it has the same argv
    // array (the store shares a repeated row's) and comm
    this.codeOf = lastOf(
      (p) => p.comm,
      (p): number => {
        const key =
          this.memoOn && this.memoable
            ? `${p.comm ?? ""}\0${p.argv === null ? "\0" : p.argv.join("\0")}`
            : undefined;
        let c = key === undefined ? undefined : this.seen.get(key);
        if (c !== undefined) {
          this.hits++;
          return c;
        }
        // the process is its own facts (argv, comm): no object made for each
        const v = classify(p);
        c = UNNAMED;
        if (v && "rule" in v) {
          let ruleKey = ruleKeys.get(v.rule);
          if (ruleKey === undefined) {
            ruleKey = `${v.rule.kind}\0${v.rule.name}`;
            ruleKeys.set(v.rule, ruleKey);
          }
          let byDisplay = nameIndex.get(ruleKey);
          if (!byDisplay) {
            byDisplay = new Map();
            nameIndex.set(ruleKey, byDisplay);
          }
          c = byDisplay.get(v.display);
          if (c === undefined) {
            c = this.names.length;
            this.names.push({ name: v.rule.name, kind: v.rule.kind, display: v.display });
            byDisplay.set(v.display, c);
          }
        }
        if (key !== undefined) {
          if (this.seen.size >= MEMO) this.seen.clear();
          this.seen.set(key, c);
        }
        return c;
      },
    );
    // a run repeats a command line process after process (a loop, forks): what follows from the argv
    // (the same array: src/store/processes.ts shares it) and cwd of the previous one is not worked out again
    const workdirOf = lastOf((p) => p.cwd, nextflowWorkdir);
    this.workdirOf = (p) => {
      const w = workdirOf(p);
      return w === undefined ? -1 : this.workdirs.of(w);
    };
    dfgOnly(this.workdirOf);
  }

  /**
   * Add process `p`; `argvText`: its argv as JSON.stringify's text (the store's column), null for none.
   * Only its figures, codes, comm and that text are kept.
   */
  add(p: StepProcess, argvText: string | null): void {
    if (this.n === this.cap) this.grow();
    const c = this.c;
    const i = this.n++;
    c.id[i] = p.id;
    c.pid[i] = p.pid;
    c.parentId[i] = num(p.parentId);
    c.execAt[i] = num(p.execAt);
    c.execCpuUs[i] = num(p.execCpuUs);
    c.execPeakKb[i] = num(p.execPeakRssKb);
    if (p.priorArgv) this.prior.set(p.id, { argv: p.priorArgv, cut: p.priorArgvBytes ?? null });
    c.argvCut[i] = p.argvTruncated ? num(p.argvBytes) : Number.NaN;
    c.startedAt[i] = num(p.startedAt);
    c.endedAt[i] = num(p.endedAt);
    c.durationUs[i] = num(p.durationUs);
    c.exitCode[i] = num(p.exitCode);
    c.signal[i] = num(p.signal);
    c.oomLimitKb[i] = num(p.oomLimitKb);
    c.userUs[i] = num(p.userUs);
    c.systemUs[i] = num(p.systemUs);
    c.peakRssKb[i] = num(p.peakRssKb);
    c.rchar[i] = num(p.rchar);
    c.wchar[i] = num(p.wchar);
    c.readBytes[i] = num(p.readBytes);
    c.writeBytes[i] = num(p.writeBytes);
    c.oomKilled[i] = p.oomKilled ? 1 : 0;
    c.peakLower[i] = peakFromSamples(p.figures);
    this.argvText.set(i, argvText);
    this.comm.push(p.comm);
    // a work dir is named by an argument ending in .command.run (the text holds it as it is)
    c.workdir[i] = argvText?.includes(".command.run") ? this.workdirOf(p) : -1;
    // a key holds the whole command line: MEMO long ones would be MEMO times their length (8,192 of
    // 64 KiB: 512 MB), and a long one repeated back to back is lastOf's already
    this.memoable = argvText === null || argvText.length <= ARGV_HEAD_CHARS;
    // a window of MEMO processes whose command lines did not repeat turns the memo off for the next
    // MEMO_REST windows (its keys cost about what classifying does); the verdicts are the same either way
    if (this.classified++ % MEMO === 0) {
      if (this.memoOn && this.hits * 8 < MEMO) this.memoOff = MEMO_REST;
      this.memoOn = this.memoOff-- <= 0;
      this.hits = 0;
    }
    c.code[i] = this.codeOf(p);
  }

  private grow(): void {
    this.cap *= 2;
    const c = this.c as unknown as Record<string, Float64Array | Int32Array | Uint8Array>;
    for (const k of Object.keys(c)) c[k] = grown(c[k]!, this.cap);
  }

  /**
   * The columns, in the order added, or in start order (an unknown start first, then by start, then
   * by row id: SQLite's ORDER BY started_at, id) when `byStart`; `lines(ids)` reads the command lines
   * of the processes whose row ids are in `ids` at the same positions.
   */
  finish(byStart = false, lines?: CommandLines): StepColumns {
    const n = this.n;
    const c = this.c as unknown as Record<string, Float64Array | Int32Array | Uint8Array>;
    for (const k of Object.keys(c)) c[k] = c[k]!.subarray(0, n);
    this.seen.clear();
    this.workdirs.clear();
    let order: Int32Array | undefined;
    if (byStart) {
      const s = c.startedAt as Float64Array;
      const id = c.id as Float64Array;
      const before = (a: number, b: number) => {
        const x = s[a]!;
        const y = s[b]!;
        if (x !== y && !(Number.isNaN(x) && Number.isNaN(y))) {
          if (Number.isNaN(x)) return -1;
          if (Number.isNaN(y)) return 1;
          return x - y;
        }
        return id[a]! - id[b]!;
      };
      for (let i = 1; i < n; i++)
        if (before(i - 1, i) > 0) {
          order = new Int32Array(n);
          for (let k = 0; k < n; k++) order[k] = k;
          order.sort(before);
          for (const k of Object.keys(c)) {
            const from = c[k]!;
            const to = new (from.constructor as new (n: number) => typeof from)(n);
            for (let j = 0; j < n; j++) to[j] = from[order[j]!]!;
            c[k] = to;
          }
          this.argvText.reorder(order);
          this.comm = Array.from(order, (j) => this.comm[j]!);
          break;
        }
    }
    reparentEarlierImages(
      this.names,
      c.code as Int32Array,
      c.workdir as Int32Array,
      n,
      c.id as Float64Array,
      c.parentId as Float64Array,
      c.startedAt as Float64Array,
      c.execAt as Float64Array,
      c.imageStartedAt as Float64Array,
      c.execCpuUs as Float64Array,
    );
    const text = this.argvText;
    text.seal();
    const comm = this.comm;
    const ids = this.c.id as Float64Array;
    const whole = this.whole;
    // a text kept whole, or one kept cut read whole again (the row gone meanwhile: none)
    const textOf = (i: number) => (text.isCut(i) ? whole!(ids[i]!) : text.get(i));
    // the text parsed when asked for: a report asks for the processes it names or prints
    const parsed = (i: number) => {
      const t = textOf(i);
      return t ? (JSON.parse(t) as string[]) : null;
    };
    // JSON.stringify's text of a string array holds a backslash only where an argument has an
    // escape; without one, each argument is the text between `"`s and none holds a `"`: argv[0]
    // and the arguments joined by spaces are read off the text, no array made. argv[0] is read off a
    // cut text's head when it ends there, unescaped
    const first = (i: number) => {
      const t = text.head(i);
      if (t === null || t === "[]") return undefined;
      const end = t.indexOf('"', 2);
      const slash = t.indexOf("\\");
      if (end > 0 && (slash < 0 || slash > end)) return t.slice(2, end);
      return parsed(i)?.[0];
    };
    const cut = this.c.argvCut.subarray(0, n);
    const cutBytes = (i: number) => (Number.isNaN(cut[i]!) ? undefined : cut[i]!);
    const command = (i: number) => {
      const t = textOf(i);
      const line =
        t === null || t === "[]" || t.includes("\\")
          ? commandOf(parsed(i), comm[i]!)
          : t.slice(2, -2).replaceAll('","', " ");
      return withCutMark(line, cut[i]!);
    };
    dfgOnly(textOf, parsed, first, command);
    const prior = this.prior;
    return {
      ...(this.c as StepColumns),
      n,
      names: this.names,
      workdirs: this.workdirs.list,
      argvText: text,
      lines: lines ?? {
        argv: parsed,
        comm: (i) => comm[i]!,
        first,
        command,
        cutBytes,
        prior: (i) => (prior.size ? (prior.get(ids[i]!)?.argv ?? null) : null),
        priorCommand: (i) => {
          const p = prior.size ? prior.get(ids[i]!) : undefined;
          return p ? withCutMark(commandOf(p.argv, null), p.cut) : null;
        },
      },
    };
  }
}

/**
 * A process forked before its parent's last exec was the earlier program's child (`bash -c 'A; B'`:
 * bash forks A, then becomes B). It matters where the parent is a step by its own final image — B a
 * named tool or script, whose step would hold its whole subtree: A was never B's. There, in the steps'
 * tree, A takes its parent's parent (where the shell stood). A parent that is a step by its place
 * instead — a make recipe, a Snakemake job (a workflow engine's child), a Nextflow task (its work dir)
 * — holds the earlier image's children as its own: they are the recipe's, the job's. In start order a
 * parent comes first, so its own place is settled by then. Such a parent's final image began at its
 * exec (`imageStartedAt`, where the CPU it had used by then is known): before it, the process was the
 * shell that ran A; a step it roots starts there (src/steps/_rollup.ts). Unknown times (NaN) change
 * nothing; the stored parent_id stays the kernel's.
 */
function reparentEarlierImages(
  names: readonly Named[],
  code: Int32Array,
  workdir: Int32Array,
  n: number,
  id: Float64Array,
  parentId: Float64Array,
  startedAt: Float64Array,
  execAt: Float64Array,
  imageStartedAt: Float64Array,
  execCpuUs: Float64Array,
): void {
  imageStartedAt.fill(Number.NaN, 0, n);
  let any = false;
  for (let i = 0; i < n && !any; i++) any = !Number.isNaN(execAt[i]!);
  if (!any) return;
  const find = indexOfIds(n, (i) => id[i]!);
  for (let i = 0; i < n; i++) {
    const p = parentId[i]!;
    if (Number.isNaN(p)) continue;
    const j = find(p);
    // strictly before: a fork at the exec's own instant is the new program's
    if (j < 0 || !(startedAt[i]! < execAt[j]!)) continue;
    const k = code[j]!;
    if ((k >= 0 && names[k]!.kind === "workflow") || workdir[j]! >= 0) continue;
    const g = Number.isNaN(parentId[j]!) ? -1 : find(parentId[j]!);
    if (g >= 0 && code[g]! >= 0 && names[code[g]!]!.kind === "workflow") continue;
    // its start moves only with its CPU: what the earlier images used must be known too (a run
    // recorded before schema 5, a process still running) or the step keeps the whole process
    if (!Number.isNaN(execCpuUs[j]!)) imageStartedAt[j] = execAt[j]!;
    // an unnamed parent holds no subtree: its children are walked on their own already
    if (k >= 0) parentId[i] = parentId[j]!;
  }
}

/** Command lines of a list of processes held in memory. */
export const linesOf = (
  procs: readonly Pick<
    StepProcess,
    "argv" | "comm" | "argvTruncated" | "argvBytes" | "priorArgv" | "priorArgvBytes"
  >[],
): CommandLines => {
  const cutBytes = (i: number) => {
    const p = procs[i]!;
    return p.argvTruncated && typeof p.argvBytes === "number" ? p.argvBytes : undefined;
  };
  return {
    argv: (i) => procs[i]!.argv,
    comm: (i) => procs[i]!.comm,
    first: (i) => procs[i]!.argv?.[0],
    command: (i) => {
      const b = cutBytes(i);
      const line = commandOf(procs[i]!.argv, procs[i]!.comm);
      return withCutMark(line, b);
    },
    cutBytes,
    prior: (i) => procs[i]!.priorArgv ?? null,
    priorCommand: (i) => {
      const p = procs[i]!;
      return p.priorArgv ? withCutMark(commandOf(p.priorArgv, null), p.priorArgvBytes) : null;
    },
  };
};

/** A list of processes (in its own order) as columns, classified by `rules`. */
export function columnsOf(procs: readonly StepProcess[], rules: RuleSet): StepColumns {
  const b = new ColumnsBuilder(rules, procs.length);
  // the text the store would keep (one text per argv: the same text is the same argv)
  for (const p of procs) b.add(p, p.argv ? JSON.stringify(p.argv) : null);
  return b.finish(false, linesOf(procs));
}

// once per process of a report (src/core/jit-tier.ts)
dfgOnly(num, ColumnsBuilder.prototype.add);
