/**
 * A run's process tree by position in its process list: parent, first child and next sibling as typed
 * arrays (12 bytes a process, no object per process or per child list), and an iterative pre-order walk.
 * Process trees can be 100,000 deep: nothing here recurses.
 */
import { dfgOnly } from "../core/jit-tier.ts";

export interface TreeNode {
  id: number;
  parentId: number | null;
}

export interface Tree {
  /** index of the parent in the list, -1 for a root (no parent, or a parent outside the list) */
  parent: Int32Array;
  /** children in list order: firstChild[i], then nextSibling[child] until -1 */
  firstChild: Int32Array;
  nextSibling: Int32Array;
  /** roots in list order */
  roots: number[];
}

/** Row id → index in the list: a dense table when the ids are near-contiguous (a run's rows are), else a Map. */
export const indexOfId = (procs: readonly Pick<TreeNode, "id">[]): ((id: number) => number) =>
  indexOfIds(procs.length, (i) => procs[i]!.id);

/** indexOfId of `n` ids given by position (idAt(i): a column of row ids, or a list's). */
export function indexOfIds(n: number, idAt: (i: number) => number): (id: number) => number {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const id = idAt(i)!;
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  const span = hi - lo + 1;
  if (n && Number.isSafeInteger(lo) && span <= 4 * n + 1024) {
    const at = new Int32Array(span).fill(-1);
    for (let i = 0; i < n; i++) at[idAt(i)! - lo] = i;
    return (id) => (id >= lo && id <= hi ? at[id - lo]! : -1);
  }
  const map = new Map<number, number>();
  for (let i = 0; i < n; i++) map.set(idAt(i)!, i);
  return (id) => map.get(id) ?? -1;
}

export const buildTree = (procs: readonly TreeNode[]): Tree =>
  treeOfIds(
    procs.map((p) => p.id),
    procs.map((p) => p.parentId ?? Number.NaN),
  );

/** The tree of processes given as columns: row ids and parent row ids (NaN: none). */
export function treeOfIds(ids: ArrayLike<number>, parentIds: ArrayLike<number>): Tree {
  const n = ids.length;
  const find = indexOfIds(n, (i) => ids[i]!);
  const parent = new Int32Array(n);
  const firstChild = new Int32Array(n).fill(-1);
  const nextSibling = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const pid = parentIds[i]!;
    parent[i] = Number.isNaN(pid) ? -1 : find(pid);
  }
  const roots: number[] = [];
  // backwards, prepending: each child list ends up in list order
  for (let i = n - 1; i >= 0; i--) {
    const p = parent[i]!;
    if (p < 0) continue;
    nextSibling[i] = firstChild[p]!;
    firstChild[p] = i;
  }
  for (let i = 0; i < n; i++) if (parent[i]! < 0) roots.push(i);
  return { parent, firstChild, nextSibling, roots };
}

/**
 * Pre-order from `start` (or from every root): each node, then its children's subtrees in list order.
 * Calls `visit(i, depth)`; when it returns false the node's children are skipped. A parent cycle (not
 * possible in a recorded run) is never reached from a root, so it cannot loop.
 */
export function walk(t: Tree, visit: (i: number, depth: number) => unknown, start?: number): void {
  // plain arrays that grow with the walk: a walk over one small subtree costs what the subtree does
  const stack: number[] = [];
  const depths: number[] = [];
  const starts = start === undefined ? t.roots : [start];
  for (let r = starts.length - 1; r >= 0; r--) {
    stack.push(starts[r]!);
    depths.push(0);
  }
  const kids: number[] = [];
  while (stack.length) {
    const i = stack.pop()!;
    const d = depths.pop()!;
    if (visit(i, d) === false) continue;
    for (let c = t.firstChild[i]!; c >= 0; c = t.nextSibling[c]!) kids.push(c);
    for (let k = kids.length - 1; k >= 0; k--) {
      stack.push(kids[k]!);
      depths.push(d + 1);
    }
    kids.length = 0;
  }
}

/**
 * The whole tree in walk's order (each root's subtree, a node before its children's subtrees) and, at
 * each node's index, the size of its subtree: the subtree of node i is order[at[i] … at[i] + size[i] - 1],
 * one contiguous slice, so a subtree is read without a walk of its own.
 */
export function preorder(t: Tree): { order: Int32Array; at: Int32Array; size: Int32Array } {
  const n = t.parent.length;
  const order = new Int32Array(n);
  const at = new Int32Array(n).fill(-1);
  const size = new Int32Array(n);
  let k = 0;
  walk(t, (i) => {
    at[i] = k;
    order[k++] = i;
  });
  // a child comes after its parent: backwards, each subtree's size is complete before it is added up
  for (let j = k - 1; j >= 0; j--) {
    const i = order[j]!;
    const own = size[i]! + 1;
    size[i] = own;
    const p = t.parent[i]!;
    if (p >= 0) size[p] = size[p]! + own;
  }
  return { order: k === n ? order : order.subarray(0, k), at, size };
}

/** Processes as a list, or as columns of row ids and parent row ids (NaN: none; src/steps/_columns.ts). */
export type Listed = readonly TreeNode[] | { n: number; id: ArrayLike<number>; parentId: ArrayLike<number> };

/** A list's tree and pre-order (preorder's result) as treeOf / preorderOf keep them. */
type Kept = { n: number; tree: Tree; pre?: ReturnType<typeof preorder> };
const kept = new WeakMap<Listed, Kept>();

function keptOf(procs: Listed): Kept {
  let k = kept.get(procs);
  const n = "n" in procs ? procs.n : procs.length;
  if (!k || k.n !== n) {
    k = { n, tree: "n" in procs ? treeOfIds(procs.id, procs.parentId) : buildTree(procs) };
    kept.set(procs, k);
  }
  return k;
}

/**
 * buildTree(procs), made once per list while the list lives: a report groups its steps (src/steps) and
 * lays out its process table (src/run/proctable.ts) from the same 100,000 processes.
 * The list must not be changed once its tree is asked for (a change of length is noticed, no other).
 */
export const treeOf = (procs: Listed): Tree => keptOf(procs).tree;

/** preorder(treeOf(procs)), made once per list as treeOf. */
export function preorderOf(procs: Listed): ReturnType<typeof preorder> {
  const k = keptOf(procs);
  k.pre ??= preorder(k.tree);
  return k.pre;
}

/**
 * The depth (a root 0) of each position of the pre-order walk `at` of `procs` (preorderOf's order):
 * a parent comes before its children in the walk, so its depth is known when theirs is set.
 */
export function walkDepths(procs: Listed, at: Int32Array): Int32Array {
  const tree = treeOf(procs);
  const depth = new Int32Array(at.length);
  const depthOf = new Int32Array(tree.parent.length);
  for (let k = 0; k < at.length; k++) {
    const i = at[k]!;
    const p = tree.parent[i]!;
    depthOf[i] = depth[k] = p < 0 ? 0 : depthOf[p]! + 1;
  }
  return depth;
}

// one long loop each over a report's processes (src/core/jit-tier.ts)
dfgOnly(indexOfIds, treeOfIds, walk, preorder, walkDepths);
