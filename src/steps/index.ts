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
  const children = new Map<number | null, StepProcess[]>();
  const ids = new Set(procs.map((p) => p.id));
  for (const p of procs) {
    const parent = p.parentId !== null && ids.has(p.parentId) ? p.parentId : null;
    const list = children.get(parent);
    if (list) list.push(p);
    else children.set(parent, [p]);
  }
  const byId = new Map(procs.map((p) => [p.id, p]));
  const named = new Map<number, Named>();
  for (const p of procs) {
    // a fork that did not exec (a subshell) shows its parent's command line: it is part of the parent
    const parent = p.parentId === null ? undefined : byId.get(p.parentId);
    if (parent && p.argv && sameArgv(parent.argv, p.argv)) continue;
    const v = classify(rules, { argv: p.argv, comm: p.comm });
    named.set(
      p.id,
      v && "rule" in v ? { name: v.rule.name, kind: v.rule.kind, display: v.display } : undefined,
    );
  }
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

  const visit = (p: StepProcess, engine: { name: string; id: number } | undefined) => {
    const n = named.get(p.id);
    const workdir = nextflowWorkdir(p);
    if (workdir) return add(p, "nextflow-task", "nextflow", nextflowTaskName(workdir), workdir);
    // a job is a `bash -c` shell Snakemake starts, or the one named command bash exec'd into
    // (Snakemake's other children, such as its scheduler's ILP solver, are not jobs)
    if (engine?.name === "snakemake" && p.parentId === engine.id) {
      if (isSnakemakeJobShell(p)) return add(p, "snakemake-job", "snakemake", undefined);
      if (n && n.kind !== "workflow") return add(p, "snakemake-job", "snakemake", n.display);
    }
    if (n?.kind === "tool") return add(p, "tool", n.name, n.display);
    if (n?.kind === "script") {
      const inner = subtree(p).slice(1);
      if (!inner.some((q) => named.get(q.id) && named.get(q.id)?.kind !== "workflow"))
        return add(p, "script", n.name, n.display);
    }
    const next = n?.kind === "workflow" ? { name: n.name, id: p.id } : engine;
    for (const c of children.get(p.id) ?? []) visit(c, next);
  };
  for (const r of children.get(null) ?? []) visit(r, undefined);

  steps.sort((a, b) => a.startedAt - b.startedAt || a.rootId - b.rootId);
  return steps.map((s, i) => ({ index: i + 1, ...s }));
}
