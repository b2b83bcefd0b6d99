/**
 * Recursive directory listing for sync (`LocalFiles.walk`): relative "/" paths, sizes and mtimes (ms).
 * Symlinked files and directories are followed (like rsync -L); a link back to a directory being listed
 * (a loop) is reported and not followed. Entries that cannot be read are reported in `problems`, never
 * skipped silently.
 */
import { opendir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Stats } from "node:fs";
import type { LocalFile, WalkProblem, WalkResult } from "../types.js";

export async function walkDirectory(root: string, opts: { signal?: AbortSignal } = {}): Promise<WalkResult> {
  const files: LocalFile[] = [];
  const problems: WalkProblem[] = [];
  const rootReal = await realpath(root);

  // `ancestors`: real paths of the directories from the root down to `dir`.
  async function visit(dir: string, rel: string, ancestors: Set<string>): Promise<void> {
    opts.signal?.throwIfAborted();
    let handle;
    try {
      handle = await opendir(dir);
    } catch (err) {
      problems.push({ path: rel || ".", error: describe(err) });
      return;
    }
    const entries: string[] = [];
    try {
      for await (const e of handle) entries.push(e.name);
    } catch (err) {
      problems.push({ path: rel || ".", error: describe(err) });
    }
    entries.sort();
    for (const name of entries) {
      const abs = join(dir, name);
      const relPath = rel ? `${rel}/${name}` : name;
      let st: Stats;
      try {
        st = await stat(abs); // follows symlinks
      } catch (err) {
        problems.push({ path: relPath, error: describe(err) });
        continue;
      }
      if (st.isDirectory()) {
        let real: string;
        try {
          real = await realpath(abs);
        } catch (err) {
          problems.push({ path: relPath, error: describe(err) });
          continue;
        }
        if (ancestors.has(real)) {
          problems.push({ path: relPath, error: `symlink loop (points back to ${real}); not followed` });
          continue;
        }
        await visit(abs, relPath, new Set(ancestors).add(real));
      } else if (st.isFile()) {
        files.push({ path: relPath, absPath: abs, size: st.size, mtimeMs: st.mtimeMs });
      } else {
        problems.push({ path: relPath, error: "not a regular file (socket, FIFO or device); skipped" });
      }
    }
  }

  await visit(root, "", new Set([rootReal]));
  return { files, problems };
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === "EACCES" || e?.code === "EPERM") return "permission denied";
  if (e?.code === "ENOENT") return "disappeared or broken symlink";
  if (e?.code === "ELOOP") return "too many levels of symbolic links";
  return e?.message ?? String(err);
}
