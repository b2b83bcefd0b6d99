/**
 * Change notifications for a local folder (`LocalFiles.watch`, used by `sync --watch`): `fs.watch` with
 * `recursive` where Node supports it (macOS, Windows, Linux since Node 20), else the root folder alone. They are
 * hints only: events can be lost, merged or late (inotify queue overflows, network file systems, editors that
 * save through renames), so the caller rescans the folder periodically and treats that as the truth.
 */
import { watch, type FSWatcher } from "node:fs";
import { sep } from "node:path";
import { LocalFileError } from "../../errors.js";
import type { LocalWatcher } from "../types.js";

export function watchDirectory(root: string, onChange: (relPath: string | undefined) => void): LocalWatcher {
  let watcher: FSWatcher;
  let recursive = true;
  const listener = (_event: string, filename: string | Buffer | null) => {
    // No name (some platforms, overflows): the caller rescans.
    onChange(filename === null ? undefined : String(filename).split(sep).join("/"));
  };
  try {
    try {
      watcher = watch(root, { recursive: true, persistent: false }, listener);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM") throw err;
      recursive = false;
      watcher = watch(root, { persistent: false }, listener);
    }
  } catch (err) {
    throw new LocalFileError(root, err);
  }
  // A watcher that fails (the folder removed, too many watches) stops reporting: say "rescan" once and stop.
  watcher.on("error", () => {
    watcher.close();
    onChange(undefined);
  });
  return {
    recursive,
    close: () => watcher.close(),
  };
}
