/**
 * The Git side of repositories, as far as clients see it: blob ids (what `oid` and the `ETag` of a regular
 * file are), Git LFS pointers (what an LFS file is in Git: its blob id and `pointerSize`), commit ids, the
 * `.gitattributes` a new repository starts with, and which paths it (or another one) sends to LFS.
 */
import { createHash, randomBytes } from "node:crypto";

/** Git's blob id of `content`: SHA-1 of `blob <size>\0<content>`. */
export function blobOid(content: Uint8Array): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** The Git LFS pointer of a file (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md). */
export function lfsPointer(sha256: string, size: number): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`);
}

/**
 * A new commit id: 40 hex digits like Git's (clients check that shape to tell commit ids from branch names),
 * unique per repository. It is not the SHA-1 of a Git commit object: the local hub keeps no Git objects.
 */
export function newCommitOid(repoKey: string, parent: string | null, seq: number, now: number, title: string): string {
  return createHash("sha1")
    .update(`${repoKey}\n${parent ?? ""}\n${seq}\n${now}\n${title}\n`)
    .update(randomBytes(16))
    .digest("hex");
}

/** A stable id for a folder at a commit (the `oid` of directory entries). */
export function treeOid(commitOid: string, path: string): string {
  return createHash("sha1").update(`tree\n${commitOid}\n${path}`).digest("hex");
}

export const isCommitOid = (s: string): boolean => /^[0-9a-f]{40}$/.test(s);

/** File types a new repository tracks with LFS (its first commit writes them to `.gitattributes`). */
const LFS_PATTERNS = [
  "*.7z",
  "*.arrow",
  "*.bin",
  "*.bz2",
  "*.ckpt",
  "*.ftz",
  "*.gguf",
  "*.gz",
  "*.h5",
  "*.joblib",
  "*.lfs.*",
  "*.mlmodel",
  "*.model",
  "*.msgpack",
  "*.npy",
  "*.npz",
  "*.onnx",
  "*.ot",
  "*.parquet",
  "*.pb",
  "*.pickle",
  "*.pkl",
  "*.pt",
  "*.pth",
  "*.rar",
  "*.safetensors",
  "saved_model/**/*",
  "*.tar.*",
  "*.tar",
  "*.tflite",
  "*.tgz",
  "*.wasm",
  "*.xz",
  "*.zip",
  "*.zst",
  "*tfevents*",
];

/** The `.gitattributes` of a new repository. */
export const DEFAULT_GITATTRIBUTES = LFS_PATTERNS.map((p) => `${p} filter=lfs diff=lfs merge=lfs -text\n`).join("");

/** A gitattributes pattern as a test on a path: without `/` it matches the file name, with one the whole path. */
function patternTest(pattern: string): (path: string) => boolean {
  const anchored = pattern.includes("/");
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      re += ".*";
      i++;
      if (pattern[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  const rx = new RegExp(`^${re.replace(/^\//, "")}$`);
  return anchored ? (p) => rx.test(p) : (p) => rx.test(p.slice(p.lastIndexOf("/") + 1));
}

/** The paths a `.gitattributes` text sends to LFS (`filter=lfs` lines; `-filter` / `!filter` lines remove). */
export function lfsMatcher(gitattributes: string): (path: string) => boolean {
  const rules: Array<{ test: (p: string) => boolean; lfs: boolean }> = [];
  for (const raw of gitattributes.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [pattern, ...attrs] = line.split(/\s+/);
    if (!pattern) continue;
    if (attrs.includes("filter=lfs")) rules.push({ test: patternTest(pattern), lfs: true });
    else if (attrs.includes("-filter") || attrs.includes("!filter")) rules.push({ test: patternTest(pattern), lfs: false });
  }
  // The last matching line wins, as in Git.
  return (path) => {
    let lfs = false;
    for (const r of rules) if (r.test(path)) lfs = r.lfs;
    return lfs;
  };
}
