/**
 * The source tree has no import cycles: neither between files nor between folders (issue 13).
 *
 * Every file under js/src is parsed with the TypeScript compiler's pre-processor, which lists static
 * imports and re-exports, `import type`, and `import()` calls with a literal specifier. Relative specifiers
 * are resolved to files of the tree (`./x.js` → `x.ts`), `#platform` to js/src/platform/ (both of its
 * implementations). Folders are the top-level directories of js/src (`pool/`, `xet/`, …, with their
 * subfolders); a file directly in js/src is its own node (`sources.ts`), since the root is the package's
 * entry point, not a layer. A cycle fails the test and is named, e.g. `pool → xet → pool` with the imports
 * that make each edge.
 *
 *   XET_PRINT_FOLDER_GRAPH=1 node --import tsx --test js/test/structure/cycles.test.ts   also prints the folder graph
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import ts from "typescript";
import { ROOT, sourceFiles } from "../helpers/files.js";

const SRC = join(ROOT, "js", "src");

/** The files of the tree a specifier of `from` names (none for packages and built-ins). */
function resolveSpecifier(from: string, spec: string): string[] {
  if (spec === "#platform") return [join(SRC, "platform", "node.ts"), join(SRC, "platform", "web.ts")];
  if (!spec.startsWith(".")) return [];
  const base = resolve(dirname(from), spec);
  for (const candidate of [base.replace(/\.js$/, ".ts"), base + ".ts", join(base, "index.ts"), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate.endsWith(".ts") ? [candidate] : [];
  }
  // Generated at build time (e.g. the wasm-bindgen glue): outside the graph unless present.
  return [];
}

/** File → the files it imports (static, type-only and dynamic imports). */
export function fileGraph(files: string[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(f, "utf8"), true, true);
    const deps = new Set<string>();
    for (const imp of info.importedFiles) for (const target of resolveSpecifier(f, imp.fileName)) if (target !== f) deps.add(target);
    graph.set(f, deps);
  }
  return graph;
}

/** The graph's node for a file: its top-level folder under js/src, or the file itself at the root. */
export function folderOf(file: string): string {
  const rel = relative(SRC, file).split(sep);
  return rel.length === 1 ? rel[0]! : rel[0]! + "/";
}

/** Folder → folder → the file imports that make that edge. */
export function folderGraph(files: Map<string, Set<string>>): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const [from, deps] of files) {
    const a = folderOf(from);
    if (!graph.has(a)) graph.set(a, new Map());
    for (const to of deps) {
      const b = folderOf(to);
      if (a === b) continue;
      const edges = graph.get(a)!;
      if (!edges.has(b)) edges.set(b, []);
      edges.get(b)!.push(`${relative(SRC, from)} → ${relative(SRC, to)}`);
    }
  }
  return graph;
}

/**
 * Cycles of a directed graph, named: for each strongly connected component (Tarjan), the shortest cycle
 * through each of its nodes, without repeats (listing every elementary cycle could take exponential time;
 * these name every node caught in one).
 */
export function findCycles(graph: Map<string, Iterable<string>>): string[][] {
  const adjacency = new Map([...graph].map(([k, v]) => [k, [...v].sort()]));
  const next = (n: string) => adjacency.get(n) ?? [];
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || next(v).includes(v)) components.push(comp.sort());
    }
  };
  for (const n of [...adjacency.keys()].sort()) if (!idx.has(n)) visit(n);
  /** A shortest cycle through `start` inside its component (breadth-first). */
  const shortestThrough = (start: string, inComp: Set<string>): string[] => {
    const prev = new Map<string, string>();
    const queue = [start];
    while (queue.length) {
      const v = queue.shift()!;
      for (const w of next(v)) {
        if (!inComp.has(w)) continue;
        if (w === start) {
          const path = [v];
          for (let u = v; u !== start;) path.unshift((u = prev.get(u)!));
          return [...path, start];
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  };
  const cycles: string[][] = [];
  const seen = new Set<string>();
  for (const comp of components) {
    const inComp = new Set(comp);
    for (const start of comp) {
      const cycle = shortestThrough(start, inComp);
      // The same cycle found from another of its nodes: rotated to start at its smallest node.
      const ring = cycle.slice(0, -1);
      const at = ring.indexOf([...ring].sort()[0]!);
      const key = [...ring.slice(at), ...ring.slice(0, at)];
      if (seen.has(key.join("\0"))) continue;
      seen.add(key.join("\0"));
      cycles.push([...key, key[0]!]);
    }
  }
  return cycles;
}

const files = fileGraph(sourceFiles(SRC));

test("structure: no import cycle between files of js/src", () => {
  const cycles = findCycles(files).map((c) => c.map((f) => relative(SRC, f)).join(" → "));
  assert.deepEqual(cycles, [], `import cycles between files:\n  ${cycles.join("\n  ")}`);
});

test("structure: no import cycle between folders of js/src", () => {
  const folders = folderGraph(files);
  const cycles = findCycles(new Map([...folders].map(([k, v]) => [k, [...v.keys()]]))).map((cycle) => {
    const edges = cycle.slice(1).map((to, i) => `    ${cycle[i]} → ${to}: ${folders.get(cycle[i]!)!.get(to)!.slice(0, 3).join(", ")}`);
    return `${cycle.join(" → ")}\n${edges.join("\n")}`;
  });
  assert.deepEqual(cycles, [], `import cycles between folders:\n  ${cycles.join("\n  ")}`);
});

test("structure: the cycle finder names a cycle", () => {
  const g = new Map<string, string[]>([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a", "d"]],
    ["d", []],
  ]);
  assert.deepEqual(findCycles(g), [["a", "b", "c", "a"]]);
  assert.deepEqual(
    findCycles(
      new Map([
        ["a", ["b"]],
        ["b", []],
      ]),
    ),
    [],
  );
});

if (process.env.XET_PRINT_FOLDER_GRAPH) {
  for (const [from, to] of [...folderGraph(files)].sort()) process.stdout.write(`${from} → ${[...to.keys()].sort().join(", ")}\n`);
}
