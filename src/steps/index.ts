/**
 * Group a run's processes into steps. A process a `tool` rule names is a step with all its descendants
 * rolled up. A `script` is a step unless named tools run inside it (then it is a wrapper and they are
 * the steps). A `workflow` engine is never a step: Snakemake's job shells, Nextflow's task work dirs
 * (`.command.run`) and make's recipes below it are, named after the tools inside them / the task's
 * name / the recipe's target. Every process no step holds (engines, wrappers, unnamed commands) goes
 * to an `other` step of its executable, so each process counts in exactly one step.
 */
import { youngCollector } from "../core/young.ts";
import { type Rule, type RuleSet, classifier } from "../rules/index.ts";
import {
  executableOf,
  isSnakemakeJobShell,
  nextflowTaskName,
  nextflowWorkdir,
  recipeTarget,
  shellCommand,
} from "./_workflow.ts";
import { rollUp } from "./_rollup.ts";
import { preorderOf, treeOf } from "./_tree.ts";
import type { RssSamples, Step, StepKind, StepProcess } from "./types.ts";

export type { RssSamples, Step, StepKind, StepProcess } from "./types.ts";

type Named = { name: string; kind: "tool" | "workflow" | "script"; display: string } | undefined;

const sameArgv = (a: string[] | null, b: string[]) =>
  a === b || (a !== null && a.length === b.length && a.every((x, i) => x === b[i]));

/** distinct command lines remembered while classifying (bounds the memo on runs where none repeats) */
const MEMO = 8192;
/** windows the memo rests after one where command lines did not repeat */
const MEMO_REST = 3;
/** codes of process names (groupSteps): no rule names it; a fork that did not exec */
const UNNAMED = -1;
const FORK = -2;

export function groupSteps(procs: StepProcess[], rules: RuleSet, samples: RssSamples = new Map()): Step[] {
  const tree = treeOf(procs);
  const tick = youngCollector();
  // what names each process, as a number (typed arrays: no 100,000-slot array of objects for the
  // collector to rescan): an index into `names`, UNNAMED, or FORK for a fork that did not exec (part
  // of its parent)
  const code = new Int32Array(procs.length);
  const names: NonNullable<Named>[] = [];
  // kind and name → display → index in names (a rule's kind and name as one string, built once per rule)
  const nameIndex = new Map<string, Map<string, number>>();
  const ruleKeys = new Map<Rule, string>();
  // the same command line is classified once (a run repeats its commands: one rule scan each)
  const seen = new Map<string, number>();
  let memoOn = false;
  let hits = 0;
  // windows left before the memo is tried again, after a window where command lines did not repeat
  let memoOff = 0;
  const classify = classifier(rules, { matchOnly: true });
  // a process's code from its command line; the previous process's again when it has the same argv
  // array (the store shares a repeated row's) and comm
  const codeOf = lastOf(
    (p) => p.comm,
    (p): number => {
      const key = memoOn ? `${p.comm ?? ""}\0${p.argv === null ? "\0" : p.argv.join("\0")}` : undefined;
      let c = key === undefined ? undefined : seen.get(key);
      if (c !== undefined) {
        hits++;
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
          c = names.length;
          names.push({ name: v.rule.name, kind: v.rule.kind, display: v.display });
          byDisplay.set(v.display, c);
        }
      }
      if (key !== undefined) {
        if (seen.size >= MEMO) seen.clear();
        seen.set(key, c);
      }
      return c;
    },
  );
  for (let i = 0; i < procs.length; i++) {
    tick();
    const p = procs[i]!;
    // a fork that did not exec (a subshell) shows its parent's command line: it is part of the parent
    const pi = tree.parent[i]!;
    if (pi >= 0 && p.argv && sameArgv(procs[pi]!.argv, p.argv)) {
      code[i] = FORK;
      continue;
    }
    // a window of MEMO processes whose command lines did not repeat turns the memo off for the next
    // MEMO_REST windows (its keys cost about what classifying does); the verdicts are the same either way
    if (i % MEMO === 0) {
      if (memoOn && hits * 8 < MEMO) memoOff = MEMO_REST;
      memoOn = memoOff-- <= 0;
      hits = 0;
    }
    code[i] = codeOf(p);
  }
  seen.clear();
  nameIndex.clear();
  ruleKeys.clear();
  /** the rule that names process i; null for a fork that did not exec */
  const named = (i: number): Named | null => {
    const c = code[i]!;
    return c >= 0 ? names[c] : c === FORK ? null : undefined;
  };
  const namedTool = (i: number) => {
    const n = named(i);
    return !!n && n.kind !== "workflow";
  };
  // toolBelow[i]: a named tool (or script) runs somewhere below process i. Parents come before their
  // children in a pre-order, so one backward pass over it sees every child before its parent.
  const toolBelow = new Uint8Array(procs.length);
  // engineBelow[i]: a workflow engine runs below process i (a recipe `cd lib && $(MAKE)`)
  const engineBelow = new Uint8Array(procs.length);
  // the tree depth first, once: every subtree is a slice of it (order[at[i]] … order[at[i] + size[i] - 1])
  const { order, at, size } = preorderOf(procs);
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!;
    const pi = tree.parent[i]!;
    if (pi >= 0 && (toolBelow[i] || namedTool(i))) toolBelow[pi] = 1;
    if (pi >= 0 && (engineBelow[i] || named(i)?.kind === "workflow")) engineBelow[pi] = 1;
  }
  /** the process and its descendants, depth first */
  const subtree = (root: number): StepProcess[] => {
    const n = size[root]!;
    // a leaf (most steps): one process
    if (n === 1) return [procs[root]!];
    const out = new Array<StepProcess>(n);
    for (let k = 0, from = at[root]!; k < n; k++) out[k] = procs[order[from + k]!]!;
    return out;
  };
  // a leaf step's tools: one list per name, shared by its steps (a run can have 50,000 leaf steps)
  const leafTools = new Map<number, string[]>();
  const toolsIn = (root: number) => {
    if (tree.firstChild[root]! < 0) {
      const c = namedTool(root) ? code[root]! : UNNAMED;
      let tools = leafTools.get(c);
      if (!tools) {
        tools = Object.freeze(c === UNNAMED ? [] : [names[c]!.display]) as string[];
        leafTools.set(c, tools);
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

  const steps: Step[] = [];
  const add = (i: number, kind: StepKind, tool: string, name: string | undefined, workdir?: string) => {
    tick();
    const root = procs[i]!;
    const tools = toolsIn(i);
    const label = name ?? (tools.length ? tools.join(" | ") : shellCommand(root) || "job");
    steps.push(
      rollUp(root, subtree(i), samples, { index: 0, key: "", name: label, kind, tool, tools, workdir }),
    );
  };

  // a run repeats a command line process after process (a loop, forks): what follows from the argv
  // (the same array: src/store/processes.ts shares it), cwd and comm of the previous one is not worked out again
  const workdirOf = lastOf((p) => p.cwd, nextflowWorkdir);
  const exeOf = lastOf((p) => p.comm, executableOf);
  /** process i's step as [kind, tool, name, workdir], or undefined when it is not a step; e: the engine above it */
  const stepOf = (i: number, e: number): [StepKind, string, string | undefined, string?] | undefined => {
    const p = procs[i]!;
    const n = named(i);
    const engine = e < 0 ? undefined : named(e)!.name;
    const byEngine = e >= 0 && p.parentId === procs[e]!.id;
    const workdir = workdirOf(p);
    if (workdir) return ["nextflow-task", "nextflow", nextflowTaskName(workdir), workdir];
    // a job is a `bash -c` shell Snakemake starts, or the one named command bash exec'd into
    // (Snakemake's other children, such as its scheduler's ILP solver, are not jobs)
    if (engine === "snakemake" && byEngine) {
      if (isSnakemakeJobShell(p)) return ["snakemake-job", "snakemake", undefined];
      if (n && n.kind !== "workflow") return ["snakemake-job", "snakemake", n.display];
    }
    // a recipe is what make starts (a `sh -c` line, or the command make exec'd itself), named by its
    // target; a recipe that runs a make of its own (recursive make) is not one: the inner recipes are
    if (engine === "make" && byEngine && n !== null && n?.kind !== "workflow") {
      if (engineBelow[i]) return undefined;
      const target = recipeTarget(p);
      const fallback = n ? n.display : shellCommand(p) || (p.argv ?? [p.comm ?? "?"]).join(" ").slice(0, 80);
      return ["make-recipe", "make", target ?? (toolBelow[i] ? undefined : fallback)];
    }
    if (n?.kind === "tool") return ["tool", n.name, n.display];
    // a script is a step unless named tools run inside it (then it is a wrapper)
    if (n?.kind === "script" && !toolBelow[i]) return ["script", n.name, n.display];
    return undefined;
  };
  // the innermost workflow engine above each process (its index; -1: none), looked up through its parent
  const engineAt = new Int32Array(procs.length).fill(-1);
  // a process no step holds joins the `other` step of its executable (a fork: its parent's), by
  // index into `groups`
  const otherOf = new Int32Array(procs.length);
  const groups: string[] = [];
  const groupIndex = new Map<string, number>();
  const others: StepProcess[][] = [];
  // depth first, as a walk would go, a step's subtree skipped
  for (let k = 0; k < order.length; ) {
    const i = order[k]!;
    const pi = tree.parent[i]!;
    const above = pi >= 0 ? engineAt[pi]! : -1;
    const found = stepOf(i, above);
    if (found) {
      add(i, ...found);
      k += size[i]!; // the step holds its whole subtree
      continue;
    }
    k++;
    const n = named(i);
    engineAt[i] = n?.kind === "workflow" ? i : above;
    let g: number;
    if (n === null && pi >= 0) g = otherOf[pi]!;
    else {
      const group = n ? n.display : exeOf(procs[i]!);
      const known = groupIndex.get(group);
      g = known ?? groups.length;
      if (known === undefined) {
        groupIndex.set(group, g);
        groups.push(group);
        others.push([]);
      }
    }
    otherOf[i] = g;
    others[g]!.push(procs[i]!);
  }
  for (let g = 0; g < groups.length; g++) steps.push(otherStep(groups[g]!, others[g]!, samples));
  others.length = 0;

  steps.sort((a, b) => a.startedAt - b.startedAt || a.rootId - b.rootId);
  assignKeys(steps);
  return steps;
}

/**
 * `f`, remembering its last answer: a process with the previous one's argv array (by identity, as the
 * store shares it) and the same `also` field gets the same answer. `f` must depend on nothing else.
 */
function lastOf<T>(also: (p: StepProcess) => string | null, f: (p: StepProcess) => T): (p: StepProcess) => T {
  let known = false;
  let argv: string[] | null = null;
  let other: string | null = null;
  let last: T;
  return (p) => {
    const o = also(p);
    if (!known || p.argv !== argv || o !== other) {
      known = true;
      argv = p.argv;
      other = o;
      last = f(p);
    }
    return last;
  };
}

/**
 * An `other` step: processes of one executable that no step holds, not one subtree. It spans its
 * first start to its last end; its exit is the first non-zero one of its processes (its code, or the
 * signal that killed it; 0 when all exited 0, null while one runs), and it fails only when one of them was OOM-killed: an engine's or a
 * wrapper's exit is the run's, shown on the run, and a `grep` that found nothing is no failure.
 */
function otherStep(name: string, list: StepProcess[], samples: RssSamples): Step {
  const f = rollUp(list[0]!, list, samples, {
    index: 0,
    key: "",
    name,
    kind: "other",
    tool: "other",
    tools: [],
    workdir: undefined,
  });
  let start = Number.POSITIVE_INFINITY;
  let end: number | null = Number.NEGATIVE_INFINITY;
  let exitCode: number | null = 0;
  let signal: number | null = null;
  for (const p of list) {
    if (p.startedAt !== null && p.startedAt < start) start = p.startedAt;
    // the first process that did not exit 0: its code, or the signal that killed it
    if (exitCode === 0 && signal === null && (p.exitCode !== 0 || p.signal !== null)) {
      exitCode = p.exitCode;
      signal = p.signal;
    }
    if (p.endedAt === null) end = null;
    else if (end !== null && p.endedAt > end) end = p.endedAt;
  }
  const startedAt = Number.isFinite(start) ? start : f.startedAt;
  const endedAt = end === null || !Number.isFinite(end) ? null : end;
  f.startedAt = startedAt;
  f.endedAt = endedAt;
  f.durationMs = endedAt === null ? null : endedAt - startedAt;
  f.exitCode = exitCode;
  f.signal = signal;
  f.failed = f.oomKilled;
  return f;
}

/**
 * Number the steps in start order and give each its key (Step.key): `KIND:NAME`, with `#N` (the
 * ordinal among the steps sharing it, in start order) when the run has several.
 */
function assignKeys(steps: Step[]): void {
  // counted by kind, then name: no key string is built to count
  const count = new Map<StepKind, Map<string, number>>();
  const seen = new Map<StepKind, Map<string, number>>();
  const byKind = (m: Map<StepKind, Map<string, number>>, kind: StepKind) => {
    const known = m.get(kind);
    if (known) return known;
    const fresh = new Map<string, number>();
    m.set(kind, fresh);
    return fresh;
  };
  for (const s of steps) {
    const byName = byKind(count, s.kind);
    byName.set(s.name, (byName.get(s.name) ?? 0) + 1);
  }
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    s.index = i + 1;
    if (count.get(s.kind)!.get(s.name)! > 1) {
      const byName = byKind(seen, s.kind);
      const n = (byName.get(s.name) ?? 0) + 1;
      byName.set(s.name, n);
      s.key = `${s.kind}:${s.name}#${n}`;
    } else s.key = `${s.kind}:${s.name}`;
  }
}
