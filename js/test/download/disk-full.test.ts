/**
 * A disk that fills up while files are downloaded (ENOSPC): the call stops with `LocalFileError` NO_SPACE naming
 * the file being written, no partial file is left (no target, no temporary file), an existing file at that target
 * is unchanged, and the files downloaded before are intact.
 *
 * Twice: with a failure injected into this process's file system calls (creating the temporary file), and on a
 * real 2 MiB tmpfs mounted in a mount namespace of its own (`unshare -rm`; skipped where the system does not allow it).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { downloadBucketFiles } from "../../src/api/download.js";
import { LocalFileError } from "../../src/errors.js";
import { seed, startTestHub, type TestHub } from "../helpers/hub.js";
import { seededBytes } from "../helpers/data.mjs";
import { assertFileEquals, listDir, sha256, tempDir } from "../helpers/files.js";
import { startChild } from "../helpers/processes.js";

const MiB = 1024 * 1024;
const B = "alice/disk-full";

let hub: TestHub;
let tmp: { dir: string; cleanup: () => Promise<void> };
const first = seededBytes(400_000, 81);
const big = seededBytes(3 * MiB, 82);
const last = seededBytes(200_000, 83);

before(async () => {
  hub = await startTestHub();
  await seed({ hubUrl: hub.url, accessToken: hub.users.alice.token }, B, { "first.bin": first, "big.bin": big, "last.bin": last });
  tmp = await tempDir();
});
after(async () => {
  await hub.close();
  await tmp.cleanup();
});

/**
 * Makes the creation of a download's temporary file for `name` under `dir` fail with ENOSPC, as on a full disk
 * (the callback `fs.open`, which the Node file sink uses, is wrapped; `syncBuiltinESMExports` hands the wrapper to
 * the modules that imported `node:fs`). The bytes themselves are written by the chunking workers, in their own
 * threads, where this process's patches do not reach: the real full disk below covers a write that fails half way.
 * Returns the function that restores the file system.
 */
function diskFullFor(dir: string, name: string): () => void {
  const original = fs.open;
  const open = ((path: fs.PathLike, ...rest: unknown[]) => {
    const cb = rest[rest.length - 1] as (err: NodeJS.ErrnoException | null, fd?: number) => void;
    const p = String(path);
    if (p.startsWith(dir) && p.includes(name) && p.endsWith(".xet-tmp")) {
      const err = Object.assign(new Error("ENOSPC: no space left on device, open"), { code: "ENOSPC", errno: -28, syscall: "open" });
      process.nextTick(cb, err);
      return;
    }
    (original as (...a: unknown[]) => void)(path, ...rest);
  }) as typeof fs.open;
  fs.open = open;
  syncBuiltinESMExports();
  return () => {
    fs.open = original;
    syncBuiltinESMExports();
  };
}

test("ENOSPC while downloading (injected: the temporary file cannot be created): a typed error naming the file, nothing partial, earlier files intact", async () => {
  const dest = join(tmp.dir, "injected");
  await mkdir(dest, { recursive: true });
  const before = new TextEncoder().encode("the previous big.bin, kept as it was");
  await writeFile(join(dest, "big.bin"), before);
  const restore = diskFullFor(dest, "big.bin");
  let err: unknown;
  try {
    err = await downloadBucketFiles(
      B,
      [
        ["first.bin", join(dest, "first.bin")],
        ["big.bin", join(dest, "big.bin")],
        ["last.bin", join(dest, "last.bin")],
      ],
      { hubUrl: hub.url, accessToken: hub.users.alice.token, maxFileDownloads: 1 },
    ).catch((e) => e);
  } finally {
    restore();
  }
  assert.ok(err instanceof LocalFileError, String(err));
  assert.equal(err.code, "NO_SPACE");
  assert.equal(err.path, join(dest, "big.bin"), "the error names the file being downloaded, not its temporary file");
  assert.match(err.message, /big\.bin: no space left on the device/);
  assert.match(err.message, /nothing partial was left, the files downloaded before are intact/);
  await assertFileEquals(join(dest, "first.bin"), first);
  assert.deepEqual(await readFile(join(dest, "big.bin")), Buffer.from(before), "the existing big.bin is unchanged");
  assert.deepEqual(await listDir(dest), ["big.bin", "first.bin"], "no temporary file, and the call stopped (no last.bin)");
});

/** True when this system lets an unprivileged process mount a tmpfs in a namespace of its own. */
function canMountTmpfs(): boolean {
  const r = spawnSync("unshare", ["-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /tmp && test -w /tmp"], { encoding: "utf8" });
  return r.status === 0;
}

test(
  "ENOSPC on a real full disk (a 2 MiB tmpfs): the same",
  { skip: canMountTmpfs() ? false : "unshare -rm cannot mount a tmpfs here" },
  async () => {
    const dir = join(tmp.dir, "tmpfs");
    await mkdir(dir, { recursive: true });
    const run = startChild(
      {
        mode: "download",
        hubUrl: hub.url,
        accessToken: hub.users.alice.token,
        repo: B,
        files: [
          ["first.bin", join(dir, "first.bin")],
          ["big.bin", join(dir, "big.bin")],
          ["last.bin", join(dir, "last.bin")],
        ],
        options: { maxFileDownloads: 1 },
        inspect: dir,
      },
      {},
      // The child runs in its own user and mount namespaces, with a 2 MiB tmpfs over `dir`.
      { wrap: ["unshare", "-rm", "sh", "-c", `mount -t tmpfs -o size=2m tmpfs '${dir}' && exec "$@"`, "sh"] },
    );
    const out = await run.done;
    assert.ok(out.json, `the child printed its outcome: ${out.stderr}`);
    assert.equal(out.json.ok, false);
    assert.equal(out.json.error?.name, "LocalFileError");
    assert.equal(out.json.error?.code, "NO_SPACE", out.json.error?.message);
    assert.equal(out.json.error?.path, join(dir, "big.bin"));
    assert.deepEqual(out.json.files, { "first.bin": { size: first.length, sha256: sha256(first) } }, "no partial file, first.bin intact");
  },
);
