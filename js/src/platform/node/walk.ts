/**
 * The recursive directory listing of `LocalFiles.walk`, for sync's local side and for local folders given to
 * an upload: relative "/" paths, sizes and mtimes (ms), in sorted order (depth first, each directory's names
 * sorted). Symlinked files and directories are followed (like rsync -L); a link back to a directory being
 * listed (a loop) is reported and not followed. What cannot be listed is reported in `problems`, never
 * skipped silently; each caller decides what a problem means for it (sync warns and keeps deletes out of its
 * plan, an upload fails).
 */
import { opendir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Stats } from "node:fs";
import type { LocalFile, WalkOptions, WalkProblem, WalkResult } from "../types.js";
import { local } from "./files.js";

export async function walkDirectory(root: string, opts: WalkOptions = {}): Promise<WalkResult> {
  const files: LocalFile[] = [];
  const problems: WalkProblem[] = [];
  const maxDepth = opts.maxDepth ?? Infinity;
  const rootReal = await local(root, realpath(root));
  const unreadable = (path: string, cause: unknown) => problems.push({ path, kind: "unreadable", error: describe(cause), cause });

  // `ancestors`: real paths of the directories from the root down to `dir`; `depth`: 1 for the root.
  async function visit(dir: string, rel: string, ancestors: Set<string>, depth: number): Promise<void> {
    opts.signal?.throwIfAborted();
    if (depth > maxDepth) {
      problems.push({ path: rel || ".", kind: "too-deep", error: `nested more than ${maxDepth} levels deep; not listed` });
      return;
    }
    let handle;
    try {
      handle = await opendir(dir);
    } catch (err) {
      unreadable(rel || ".", err);
      return;
    }
    const entries: string[] = [];
    try {
      for await (const e of handle) entries.push(e.name);
    } catch (err) {
      unreadable(rel || ".", err);
    }
    entries.sort();
    for (const name of entries) {
      const abs = join(dir, name);
      const relPath = rel ? `${rel}/${name}` : name;
      let st: Stats;
      try {
        st = await stat(abs); // follows symlinks
      } catch (err) {
        unreadable(relPath, err);
        continue;
      }
      if (st.isDirectory()) {
        let real: string;
        try {
          real = await realpath(abs);
        } catch (err) {
          unreadable(relPath, err);
          continue;
        }
        if (ancestors.has(real)) {
          problems.push({ path: relPath, kind: "loop", error: `symlink loop (points back to ${real}); not followed` });
          continue;
        }
        await visit(abs, relPath, new Set(ancestors).add(real), depth + 1);
      } else if (st.isFile()) {
        files.push({ path: relPath, absPath: abs, size: st.size, mtimeMs: st.mtimeMs });
      } else {
        problems.push({ path: relPath, kind: "special", error: "not a regular file (socket, FIFO or device); skipped" });
      }
    }
  }

  await visit(root, "", new Set([rootReal]), 1);
  return { files, problems };
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string } | undefined;
  if (e?.code === "EACCES" || e?.code === "EPERM") return "permission denied";
  if (e?.code === "ENOENT") return "disappeared or broken symlink";
  if (e?.code === "ELOOP") return "too many levels of symbolic links";
  return e?.message ?? String(err);
}
