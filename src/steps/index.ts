/**
 * Group a run's processes into steps. A process a `tool` rule names is a step with all its descendants
 * rolled up. A `script` is a step unless named tools run inside it (then it is a wrapper and they are
 * the steps). A `workflow` engine is never a step: Snakemake's job shells, Nextflow's task work dirs
 * (`.command.run`) and make's recipes below it are, named after the tools inside them / the task's
 * name / the recipe's target. Every process no step holds (engines, wrappers, unnamed commands) goes
 * to an `other` step of its executable, so each process counts in exactly one step.
 */
import { dfgOnly } from "../core/jit-tier.ts";
import { youngCollector } from "../core/young.ts";
import type { RuleSet } from "../rules/index.ts";
import { FORK, type Named, type StepColumns, columnsOf, or0, orNull } from "./_columns.ts";
import { busyOf, liveBusyOf } from "./_busy.ts";
import { type StepRoot, rollUp } from "./_rollup.ts";
import { sampleSteps, sourceOf } from "./_sampled.ts";
import { preorderOf, treeOf } from "./_tree.ts";
import {
  executableNamed,
  isSnakemakeJobShell,
  nextflowTaskName,
  recipeTarget,
  shellCommand,
  shellText,
  snakemakeRunRule,
} from "./_workflow.ts";
import type { RssSamples, Step, StepKind, StepProcess } from "./types.ts";

export type { RssSamples, Step, StepKind, StepProcess } from "./types.ts";
export { ColumnsBuilder, type CommandLines, type StepColumns, columnsOf } from "./_columns.ts";
export { type RunSampled, type SampleScan, type SampleSource, sampleSteps, sourceOf } from "./_sampled.ts";

/**
 * A list of processes (in start order) grouped into steps: groupColumns of its columns, each step's
 * peak raised to its sampled peak when `samples` are given.
 */
export function groupSteps(procs: StepProcess[], rules: RuleSet, samples?: RssSamples): Step[] {
  const steps = groupColumns(columnsOf(procs, rules));
  if (samples?.size)
    sampleSteps(
      steps,
      procs.map((p) => p.id),
      sourceOf(samples),
    );
  return steps;
}

/** A step found by the walk, named once the command lines of every step's root are read. */
interface Found {
  /** position of its root */
  at: number;
  kind: StepKind;
  tool: string;
  name: string | undefined;
  workdir?: string;
  /** a make recipe: named by its target, else (`fallback`: no tool below it) by its command */
  recipe?: { display: string | undefined; fallback: boolean };
}

/**
 * Group processes given as columns (src/steps/_columns.ts, classified as they were read) into steps.
 * Reads the command lines of the steps' roots only (c.lines), not of every process.
 */
export function groupColumns(c: StepColumns): Step[] {
  const n = c.n;
  const tree = treeOf(c);
  const tick = youngCollector();
  const { code, names, argvText } = c;
  // a fork that did not exec (a subshell) shows its parent's command line: it is part of the parent
  for (let i = 0; i < n; i++) {
    const pi = tree.parent[i]!;
    if (pi >= 0 && !argvText.isNull(i) && argvText.same(i, pi)) code[i] = FORK;
  }
  /** process i's command line (parsed from its text each time: asked for the processes named or shown) */
  const lineOf = (i: number) => ({ argv: c.lines.argv(i), comm: c.lines.comm(i) });
  // the executable of a process no step holds (the previous one's again for the same text and comm)
  let last = -1;
  let lastExe = "";
  const exeOf = (i: number) => {
    if (last < 0 || c.lines.comm(i) !== c.lines.comm(last) || !argvText.same(i, last))
      lastExe = executableNamed(c.lines.first(i), c.lines.comm(i));
    last = i;
    return lastExe;
  };
  /** the rule that names process i; null for a fork that did not exec */
  const named = (i: number): Named | undefined | null => {
    const k = code[i]!;
    return k >= 0 ? names[k] : k === FORK ? null : undefined;
  };
  const namedTool = (i: number) => {
    const k = code[i]!;
    return k >= 0 && names[k]!.kind !== "workflow";
  };
  dfgOnly(lineOf, exeOf, named, namedTool);
  // toolBelow[i]: a named tool (or script) runs somewhere below process i. Parents come before their
  // children in a pre-order, so one backward pass over it sees every child before its parent.
  const toolBelow = new Uint8Array(n);
  // engineBelow[i]: a workflow engine runs below process i (a recipe `cd lib && $(MAKE)`)
  const engineBelow = new Uint8Array(n);
  // the tree depth first, once: every subtree is a slice of it (order[at[i]] … order[at[i] + size[i] - 1])
  const { order, at, size } = preorderOf(c);
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!;
    const pi = tree.parent[i]!;
    if (pi >= 0 && (toolBelow[i] || namedTool(i))) toolBelow[pi] = 1;
    if (pi >= 0 && (engineBelow[i] || named(i)?.kind === "workflow")) engineBelow[pi] = 1;
  }
  /** the process and its descendants, depth first (positions) */
  const subtree = (root: number) => order.subarray(at[root]!, at[root]! + size[root]!);
  // a leaf step's tools: one list per name, shared by its steps (a run can have 50,000 leaf steps)
  const leafTools = new Map<number, string[]>();
  const toolsIn = (root: number) => {
    if (tree.firstChild[root]! < 0) {
      const k = namedTool(root) ? code[root]! : -1;
      let tools = leafTools.get(k);
      if (!tools) {
        tools = Object.freeze(k < 0 ? [] : [names[k]!.display]) as string[];
        leafTools.set(k, tools);
      }
      return tools;
    }
    const tools = new Set<string>();
    for (let k = at[root]!, end = k + size[root]!; k < end; k++) {
      const i = order[k]!;
      if (namedTool(i)) tools.add(named(i)!.display);
    }
    return [...tools];
  };

  /** process i's step, or undefined when it is not a step; e: the engine above it */
  const stepOf = (i: number, e: number): Found | undefined => {
    const nm = named(i);
    const engine = e < 0 ? undefined : named(e)!.name;
    const byEngine = e >= 0 && c.parentId[i] === c.id[e];
    const w = c.workdir[i]!;
    if (w >= 0) {
      const workdir = c.workdirs[w]!;
      return { at: i, kind: "nextflow-task", tool: "nextflow", name: nextflowTaskName(workdir), workdir };
    }
    // a job is a `bash -c` shell Snakemake starts — also once it ran its last command in its own place
    // (`…; mv {output}.tmp {output}`: the process is mv by then, its prior command line the job's) —, or
    // the one named command bash exec'd into (Snakemake's other children, such as its scheduler's ILP
    // solver, are not jobs)
    if (engine === "snakemake" && byEngine) {
      const prior = c.lines.prior(i);
      if (
        isSnakemakeJobShell(lineOf(i)) ||
        (prior !== null && isSnakemakeJobShell({ argv: prior, comm: null }))
      )
        return { at: i, kind: "snakemake-job", tool: "snakemake", name: undefined };
      if (nm && nm.kind !== "workflow")
        return { at: i, kind: "snakemake-job", tool: "snakemake", name: nm.display };
    }
    // a recipe is what make starts (a `sh -c` line, or the command make exec'd itself), named by its
    // target; a recipe that runs a make of its own (recursive make) is not one: the inner recipes are
    if (engine === "make" && byEngine && nm !== null && nm?.kind !== "workflow") {
      if (engineBelow[i]) return undefined;
      const recipe = { display: nm?.display, fallback: !toolBelow[i] };
      return { at: i, kind: "make-recipe", tool: "make", name: undefined, recipe };
    }
    if (nm?.kind === "tool") return { at: i, kind: "tool", tool: nm.name, name: nm.display };
    // a script is a step unless named tools run inside it (then it is a wrapper)
    if (nm?.kind === "script" && !toolBelow[i])
      return { at: i, kind: "script", tool: nm.name, name: nm.display };
    return undefined;
  };
  // each called once or more per process or step (src/core/jit-tier.ts)
  dfgOnly(subtree, toolsIn, stepOf);
  // the innermost workflow engine above each process (its index; -1: none), looked up through its parent
  const engineAt = new Int32Array(n).fill(-1);
  // a process no step holds joins the `other` step of its executable (a fork: its parent's), by
  // index into `groups`
  const otherOf = new Int32Array(n);
  // 1: the process is in its `other` step by its own name or executable (0: it joined its parent's,
  // and so would the shell it was before an exec: that part is the step's too)
  const ownGroup = new Uint8Array(n);
  /**
   * The `other` group process `p` stood in at time `t` (epoch ms): its own, unless `t` came before its
   * last exec — then `p` was still its parent's fork, standing where its parent stood at `p`'s start.
   * A fork of a subshell that later exec'd `true` (`(x=$(loop); exec true)`: the loop) ran in the shell's
   * place, not `true`'s: counted in `true`'s step it showed 2,558 % CPU (attack). The walk goes up
   * through processes the depth-first pass below has already grouped. -1 at a top-level process (CMD)
   * before its last exec: it was the shell whose part is in no step (a subshell's loop under a CMD that
   * later exec'd `hold` went into `hold`'s step, 635-926 % CPU: attack, 2 Dec 2026).
   */
  const standAt = (p: number, t: number): number => {
    for (;;) {
      const up = tree.parent[p]!;
      if (!(t < c.execAt[p]!)) return otherOf[p]!;
      if (up < 0) return -1;
      t = c.startedAt[p]!;
      p = up;
    }
  };
  const groups: string[] = [];
  const groupIndex = new Map<string, number>();
  const others: number[][] = [];
  const found: Found[] = [];
  // depth first, as a walk would go, a step's subtree skipped
  for (let k = 0; k < order.length; ) {
    tick();
    const i = order[k]!;
    const pi = tree.parent[i]!;
    const above = pi >= 0 ? engineAt[pi]! : -1;
    const step = stepOf(i, above);
    if (step) {
      found.push(step);
      k += size[i]!; // the step holds its whole subtree
      continue;
    }
    k++;
    const nm = named(i);
    engineAt[i] = nm?.kind === "workflow" ? i : above;
    // (a fork of CMD's shell, before CMD's last exec: by its own executable, the shell's)
    let g = nm === null && pi >= 0 ? standAt(pi, c.startedAt[i]!) : -1;
    if (g < 0) {
      ownGroup[i] = 1;
      const group = nm ? nm.display : exeOf(i);
      const known = groupIndex.get(group);
      g = known ?? groups.length;
      if (known === undefined) {
        groupIndex.set(group, g);
        groups.push(group);
        others.push([]);
      }
    }
    otherOf[i] = g;
    others[g]!.push(i);
  }
  groupIndex.clear();
  // A process in its `other` step by its own executable became that at its last exec, having been its
  // parent's fork until then (a shell's child, not yet `true`): the step counts it from that exec, in
  // its wall and its CPU alike, when the CPU it had used by then is known (exec_cpu_us; without it,
  // the whole process in both). The 300 `true`s of a shell loop showed 115 % CPU: their wall from the
  // exec, their CPU from the fork (newcomer). CMD has no parent to take that part (it was tracer's
  // child setting up the exec): whole.
  for (let i = 0; i < n; i++)
    if (
      ownGroup[i] &&
      tree.parent[i]! >= 0 &&
      Number.isNaN(c.imageStartedAt[i]!) &&
      !Number.isNaN(c.execCpuUs[i]!) &&
      c.execAt[i]! > c.startedAt[i]!
    )
      c.imageStartedAt[i] = c.execAt[i]!;
  // A process that became a step's root, or its own `other` step's, at an exec left out the CPU its
  // earlier image used (src/steps/_rollup.ts): that image was the shell in its parent's place, in the
  // parent's `other` step, which gets it (CMD has no parent: its shell's part is in no step)
  const carried = new Float64Array(groups.length);
  const carry = (i: number) => {
    const pi = tree.parent[i]!;
    const before = c.execCpuUs[i]!;
    if (pi < 0 || Number.isNaN(c.imageStartedAt[i]!) || !(before > 0)) return;
    const g = standAt(pi, c.startedAt[i]!);
    if (g >= 0) carried[g]! += Math.min(before, or0(c.userUs[i]!) + or0(c.systemUs[i]!));
  };
  for (const f of found) carry(f.at);
  for (let i = 0; i < n; i++) if (ownGroup[i]) carry(i);

  // each step's root (an other step's: its first process); its argv is parsed only to name a step
  // no rule or engine named
  const rootOf = (i: number): StepRoot => ({
    at: i,
    pid: c.pid[i]!,
    command: c.lines.command(i),
    exitCode: orNull(c.exitCode[i]!),
    signal: orNull(c.signal[i]!),
  });
  dfgOnly(rootOf);
  const steps: Step[] = [];
  for (const f of found) {
    tick();
    const root = rootOf(f.at);
    // a job shell that exec'd its last command: the job's command line is the shell's
    const prior = f.kind === "snakemake-job" ? c.lines.prior(f.at) : null;
    if (prior !== null) root.command = c.lines.priorCommand(f.at) ?? root.command;
    let name = f.name;
    if (f.recipe) {
      const line = lineOf(f.at);
      const fallback = f.recipe.fallback
        ? (f.recipe.display ??
          (shellCommand(line) || (line.argv ?? [line.comm ?? "?"]).join(" ").slice(0, 80)))
        : undefined;
      name = recipeTarget(line) ?? fallback;
    }
    const tools = toolsIn(f.at);
    // the job shell's command line (parsed only when a name needs it)
    const jobLine = () => (prior !== null ? { argv: prior, comm: null } : lineOf(f.at));
    // a `run:` job is a second Snakemake told which rule to run: that rule is the job's name
    const runRule = f.kind === "snakemake-job" ? snakemakeRunRule(shellText(jobLine())) : undefined;
    const label = name ?? runRule ?? (tools.length ? tools.join(" | ") : shellCommand(jobLine()) || "job");
    steps.push(
      rollUp(c, root, subtree(f.at), {
        index: 0,
        key: "",
        name: label,
        kind: f.kind,
        tool: f.tool,
        tools,
        workdir: f.workdir,
      }),
    );
  }
  found.length = 0;
  for (let g = 0; g < groups.length; g++) {
    tick();
    const step = otherStep(c, groups[g]!, others[g]!, rootOf(others[g]![0]!), ownGroup);
    step.cpuUs += carried[g]!;
    steps.push(step);
  }
  others.length = 0;

  steps.sort((a, b) => a.startedAt - b.startedAt || a.rootId - b.rootId);
  assignKeys(steps);
  return steps;
}

/**
 * Signals that end a process on a fault or a resource limit, never as a command's answer (Linux's
 * numbers, what the kernel reports): SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU,
 * SIGXFSZ, SIGSYS. A process of an `other` step killed by one fails the step, as an OOM kill does.
 */
const CRASHES = new Set([4, 5, 6, 7, 8, 11, 24, 25, 31]);

/**
 * An `other` step: processes of one executable that no step holds, not one subtree. It spans its
 * first start to its last end, and its wall is the time at least one of them ran (src/steps/_busy.ts:
 * five 2 ms `date` calls a second apart are 10 ms of wall, not 4 s). Its exit is the first non-zero
 * one of its processes (its code, or the signal that killed it; 0 when all exited 0, null while one
 * runs), or, when one crashed, the first crash's signal, and it fails only when one of them was
 * OOM-killed or crashed (CRASHES): an engine's or a
 * wrapper's exit is the run's, shown on the run, a `grep` that found nothing is no failure, and a
 * `sleep` a script ended with SIGTERM may have been ended by design.
 */
function otherStep(c: StepColumns, name: string, list: number[], root: StepRoot, own: Uint8Array): Step {
  const f = rollUp(
    c,
    root,
    list,
    {
      index: 0,
      key: "",
      name,
      kind: "other",
      tool: "other",
      tools: [],
      workdir: undefined,
    },
    own,
  );
  let start = Number.POSITIVE_INFINITY;
  let end: number | null = Number.NEGATIVE_INFINITY;
  let exitCode: number | null = 0;
  let signal: number | null = null;
  // each process's time as the group's executable, for the union: from its last exec when it is in the
  // group by its own executable and its CPU splits there too (a subshell that waited before it became
  // `sleep` was the shell until then: imageStartedAt), else whole (a fork that did not exec is part of
  // its parent's work)
  const from = new Float64Array(list.length);
  const to = new Float64Array(list.length);
  let longestMs = 0;
  let crashed = false;
  let crash: number | null = null;
  for (let j = 0; j < list.length; j++) {
    const i = list[j]!;
    const image = own[i] ? c.imageStartedAt[i]! : Number.NaN;
    const started = Number.isNaN(image) ? c.startedAt[i]! : image;
    if (started < start) start = started;
    from[j] = started;
    to[j] = c.endedAt[i]!;
    // an exact lifetime (wait4/taskstats, µs) is finer than the ms timestamps: for a whole process
    const exact = Number.isNaN(image) ? c.durationUs[i]! / 1000 : Number.NaN;
    if (exact > longestMs) longestMs = exact;
    // the first process that did not exit 0: its code, or the signal that killed it
    const code = orNull(c.exitCode[i]!);
    const sig = orNull(c.signal[i]!);
    if (exitCode === 0 && signal === null && (code !== 0 || sig !== null)) {
      exitCode = code;
      signal = sig;
    }
    // the first crash: what failed the step, its EXIT (a newcomer saw `FAILED 4` for a step failed by a
    // SIGSEGV, the 4 no failure of an `other` step)
    if (sig !== null && CRASHES.has(sig) && !crashed) {
      crashed = true;
      crash = sig;
    }
    const ended = c.endedAt[i]!;
    if (Number.isNaN(ended)) end = null;
    else if (end !== null && ended > end) end = ended;
  }
  const startedAt = Number.isFinite(start) ? start : f.startedAt;
  const endedAt = end === null || !Number.isFinite(end) ? null : end;
  f.startedAt = startedAt;
  f.endedAt = endedAt;
  if (endedAt === null) {
    f.durationMs = null;
    f.liveBusy = liveBusyOf(from, to);
  } else {
    const busy = busyOf(from, to);
    f.durationMs = Math.max(busy.ms, longestMs);
    f.busyProfile = busy.profile;
  }
  f.failed = f.oomKilled || crashed;
  f.exitCode = crashed ? null : exitCode;
  f.signal = crashed ? crash : signal;
  return f;
}

/**
 * A step's name as its key holds it: `#` and `\` escaped with `\`, so that the `#N` ordinal is the
 * key's only `#` (a script named `s.sh#2` had the key of the second `s.sh`, and diff paired the wrong
 * steps: attack). Names without either come back unchanged.
 */
const keyName = (name: string): string =>
  name.includes("#") || name.includes("\\") ? name.replace(/[#\\]/g, "\\$&") : name;

/**
 * Steps sharing a kind and name that start within this many ms of the first of them were started
 * together (Snakemake's or Nextflow's scheduler launching a batch): their order of start is a race.
 */
const TOGETHER_MS = 100;

/**
 * Number the steps in start order and give each its key (Step.key): `KIND:NAME`, with `#N` when the run
 * has several — their ordinal in start order, except among steps started together (TOGETHER_MS), which
 * are ordered by command line: two Snakemake jobs of one rule launched within a millisecond swapped
 * their ordinals between identical runs, and `diff` compared sample a's job with sample b's (newcomer).
 * Sequential ones keep their start order (their command lines may hold a run's temporary names).
 */
function assignKeys(steps: Step[]): void {
  // counted by kind, then name (no key string is built to count); lists only for shared names
  const count = new Map<StepKind, Map<string, number>>();
  const byKind = <T>(m: Map<StepKind, Map<string, T>>, kind: StepKind) => {
    const known = m.get(kind);
    if (known) return known;
    const fresh = new Map<string, T>();
    m.set(kind, fresh);
    return fresh;
  };
  for (const s of steps) {
    const byName = byKind(count, s.kind);
    byName.set(s.name, (byName.get(s.name) ?? 0) + 1);
  }
  const shared = new Map<StepKind, Map<string, Step[]>>();
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    s.index = i + 1;
    if (count.get(s.kind)!.get(s.name)! < 2) {
      s.key = `${s.kind}:${keyName(s.name)}`;
      continue;
    }
    const byName = byKind(shared, s.kind);
    const list = byName.get(s.name);
    if (list) list.push(s);
    else byName.set(s.name, [s]);
  }
  for (const byName of shared.values())
    for (const list of byName.values()) {
      // in start order already (steps are): each batch started together sorted by command line
      for (let a = 0; a < list.length; ) {
        let b = a + 1;
        while (b < list.length && list[b]!.startedAt - list[a]!.startedAt < TOGETHER_MS) b++;
        if (b - a > 1) {
          const batch = list
            .slice(a, b)
            .sort((x, y) => (x.command < y.command ? -1 : x.command > y.command ? 1 : 0));
          for (let k = a; k < b; k++) list[k] = batch[k - a]!;
        }
        a = b;
      }
      // one flat string each (a `+=` would keep a rope of two: ~4 MB more at 50,000 steps)
      for (let k = 0; k < list.length; k++) {
        const s = list[k]!;
        s.key = `${s.kind}:${keyName(s.name)}#${k + 1}`;
      }
    }
}

dfgOnly(otherStep, groupColumns);
