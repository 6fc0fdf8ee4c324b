/**
 * Group a run's processes into steps. A process a `tool` rule names is a step with all its descendants
 * rolled up. A `script` is a step unless named tools run inside it (then it is a wrapper and they are
 * the steps). A `workflow` engine is never a step: Snakemake's job shells and Nextflow's task work dirs
 * (`.command.run`) below it are, named after the tools inside them / the task's name.
 */
import { type RuleSet, classify } from "../rules/index.ts";
import { isSnakemakeJobShell, nextflowTaskName, nextflowWorkdir, shellCommand } from "./_workflow.ts";
import { rollUp } from "./_rollup.ts";
import type { RssSamples, Step, StepKind, StepProcess } from "./types.ts";

export type { RssSamples, Step, StepKind, StepProcess } from "./types.ts";

type Named = { name: string; kind: "tool" | "workflow" | "script"; display: string } | undefined;

const sameArgv = (a: string[] | null, b: string[]) =>
  a !== null && a.length === b.length && a.every((x, i) => x === b[i]);

export function groupSteps(procs: StepProcess[], rules: RuleSet, samples: RssSamples = new Map()): Step[] {
  const byId = new Map<number, StepProcess>();
  for (const p of procs) byId.set(p.id, p);
  const roots: StepProcess[] = [];
  const children = new Map<number, StepProcess[]>();
  for (const p of procs) {
    if (p.parentId === null || !byId.has(p.parentId)) roots.push(p);
    else {
      const list = children.get(p.parentId);
      if (list) list.push(p);
      else children.set(p.parentId, [p]);
    }
  }
  const named = new Map<number, Named>();
  // the same command line is classified once (a run repeats its commands: one rule scan each)
  const seen = new Map<string, Named>();
  for (const p of procs) {
    // a fork that did not exec (a subshell) shows its parent's command line: it is part of the parent
    const parent = p.parentId === null ? undefined : byId.get(p.parentId);
    if (parent && p.argv && sameArgv(parent.argv, p.argv)) continue;
    const key = `${p.comm ?? ""}\0${p.argv === null ? "\0" : p.argv.join("\0")}`;
    let n = seen.get(key);
    if (n === undefined && !seen.has(key)) {
      const v = classify(rules, { argv: p.argv, comm: p.comm });
      n = v && "rule" in v ? { name: v.rule.name, kind: v.rule.kind, display: v.display } : undefined;
      seen.set(key, n);
    }
    named.set(p.id, n);
  }
  const namedTool = (q: StepProcess) => {
    const n = named.get(q.id);
    return n !== undefined && n.kind !== "workflow";
  };
  /** the process and its descendants, depth first (iterative: process trees can be deep) */
  const subtree = (root: StepProcess): StepProcess[] => {
    const out: StepProcess[] = [];
    const stack = [root];
    for (let p = stack.pop(); p; p = stack.pop()) {
      out.push(p);
      const kids = children.get(p.id);
      if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
    }
    return out;
  };
  // which processes have a named tool (or script) below them: one pass, children before parents
  const toolBelow = new Set<number>();
  const order: StepProcess[] = [];
  for (const r of roots) for (const q of subtree(r)) order.push(q);
  for (let i = order.length - 1; i >= 0; i--) {
    const q = order[i]!;
    if (q.parentId !== null && (toolBelow.has(q.id) || namedTool(q))) toolBelow.add(q.parentId);
  }
  order.length = 0;
  const toolsIn = (ps: StepProcess[]) => [
    ...new Set(
      ps.map((q) => named.get(q.id)).flatMap((n) => (n && n.kind !== "workflow" ? [n.display] : [])),
    ),
  ];

  const steps: Omit<Step, "index">[] = [];
  const add = (
    root: StepProcess,
    kind: StepKind,
    tool: string,
    name: string | undefined,
    workdir?: string,
  ) => {
    const all = subtree(root);
    const tools = toolsIn(all);
    const label = name ?? (tools.length ? tools.join(" | ") : shellCommand(root) || "job");
    steps.push({ name: label, kind, tool, tools, workdir, ...rollUp(root, all, samples) });
  };

  type Engine = { name: string; id: number } | undefined;
  /** p's step as [kind, tool, name, workdir], or undefined when p is not a step (its children may be) */
  const stepOf = (
    p: StepProcess,
    engine: Engine,
  ): [StepKind, string, string | undefined, string?] | undefined => {
    const n = named.get(p.id);
    const workdir = nextflowWorkdir(p);
    if (workdir) return ["nextflow-task", "nextflow", nextflowTaskName(workdir), workdir];
    // a job is a `bash -c` shell Snakemake starts, or the one named command bash exec'd into
    // (Snakemake's other children, such as its scheduler's ILP solver, are not jobs)
    if (engine?.name === "snakemake" && p.parentId === engine.id) {
      if (isSnakemakeJobShell(p)) return ["snakemake-job", "snakemake", undefined];
      if (n && n.kind !== "workflow") return ["snakemake-job", "snakemake", n.display];
    }
    if (n?.kind === "tool") return ["tool", n.name, n.display];
    // a script is a step unless named tools run inside it (then it is a wrapper)
    if (n?.kind === "script" && !toolBelow.has(p.id)) return ["script", n.name, n.display];
    return undefined;
  };
  // depth first with an explicit stack (a chain of processes can be 100,000 deep)
  const stack: { p: StepProcess; engine: Engine }[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ p: roots[i]!, engine: undefined });
  for (let top = stack.pop(); top; top = stack.pop()) {
    const { p, engine } = top;
    const found = stepOf(p, engine);
    if (found) {
      add(p, ...found);
      continue;
    }
    const n = named.get(p.id);
    const next = n?.kind === "workflow" ? { name: n.name, id: p.id } : engine;
    const kids = children.get(p.id);
    if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push({ p: kids[i]!, engine: next });
  }

  steps.sort((a, b) => a.startedAt - b.startedAt || a.rootId - b.rootId);
  return steps.map((s, i) => ({ index: i + 1, ...s }));
}
