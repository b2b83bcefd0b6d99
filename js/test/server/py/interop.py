"""The official Python client (huggingface_hub 2.4.0 + hf_xet 1.8.0) against a local hub.

Run by js/test/server/python.test.ts with HF_ENDPOINT / HF_TOKEN / HF_HOME set. Each step is a separate
process (like a user running a script twice) and asserts its own results; the Node test also counts the
requests the hub saw between steps.

    python interop.py STEP WORKDIR
"""

import hashlib
import json
import os
import random
import sys
from pathlib import Path

from huggingface_hub import HfApi, HfFileSystem
from huggingface_hub.errors import BucketNotFoundError, HfHubHTTPError

ENDPOINT = os.environ["HF_ENDPOINT"]
api = HfApi()


def data(name: str, size: int) -> bytes:
    """Deterministic content per name."""
    return random.Random(name).randbytes(size)


# The local tree uploaded by sync and batch steps: nested folders, an empty file, a 1-byte file,
# text, and random data spanning several chunks.
TREE = {
    "model/weights.bin": data("weights", 3 * 1024 * 1024 + 17),
    "model/config.json": json.dumps({"hidden": 1024, "layers": [1, 2, 3]}).encode(),
    "notes/readme.md": b"# notes\n" * 2000,
    "notes/deeper/one.txt": b"1",
    "empty.bin": b"",
}


def write_tree(root: Path, tree: dict) -> None:
    for rel, content in tree.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)


def read_tree(root: Path) -> dict:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".cache" not in p.parts
    }


def ok(step: str, **info) -> None:
    print(json.dumps({"ok": step, **info}), flush=True)


def step_create(work: Path) -> None:
    url = api.create_bucket("alice/py")
    assert url.url == f"{ENDPOINT}/buckets/alice/py", url
    assert url.bucket_id == "alice/py"
    again = api.create_bucket("alice/py", exist_ok=True)
    assert again.url == url.url
    try:
        api.create_bucket("alice/py")
        raise AssertionError("second create_bucket without exist_ok must fail")
    except HfHubHTTPError as e:
        assert e.response.status_code == 409
    mine = api.create_bucket("py-private", private=True)
    assert mine.bucket_id == "alice/py-private", mine
    info = api.bucket_info("alice/py-private")
    assert info.private is True and info.total_files == 0 and info.size == 0
    api.create_bucket("alice/py-copy-dest", exist_ok=True)
    names = sorted(b.id for b in api.list_buckets())
    assert {"alice/py", "alice/py-private", "alice/py-copy-dest"} <= set(names), names
    try:
        api.bucket_info("alice/does-not-exist")
        raise AssertionError("expected BucketNotFoundError")
    except BucketNotFoundError:
        pass
    api.update_bucket_settings("alice/py-private", private=False)
    assert api.bucket_info("alice/py-private").private is False
    ok("create")


def step_batch(work: Path) -> None:
    src = work / "batch-src"
    write_tree(src, TREE)
    api.batch_bucket_files(
        "alice/py",
        add=[(str(src / rel), f"batch/{rel}") for rel in TREE] + [(b"raw bytes here", "batch/from-bytes.txt")],
    )
    files = {f.path: f for f in api.list_bucket_tree("alice/py", prefix="batch", recursive=True)}
    expected = {f"batch/{rel}" for rel in TREE} | {"batch/from-bytes.txt"}
    assert set(files) == expected, sorted(files)
    for rel, content in TREE.items():
        f = files[f"batch/{rel}"]
        assert f.size == len(content), (rel, f.size)
        assert f.mtime is not None and f.uploaded_at is not None
    # one level (recursive=False; without it the Hub lists every file): one folder entry per sub-folder
    top = sorted((type(e).__name__, e.path) for e in api.list_bucket_tree("alice/py", prefix="batch", recursive=False))
    assert ("BucketFolder", "batch/model") in top and ("BucketFile", "batch/empty.bin") in top, top
    # paths-info: unknown paths and folders are omitted
    info = list(api.get_bucket_paths_info("alice/py", ["batch/model/weights.bin", "batch/missing", "batch/model"]))
    assert [i.path for i in info] == ["batch/model/weights.bin"], info
    weights = info[0]
    # copy (server side, by xet hash) into another bucket, then delete a file
    api.batch_bucket_files(
        "alice/py-copy-dest",
        copy=[("bucket", "alice/py", weights.xet_hash, "copied/weights.bin")],
    )
    copied = list(api.get_bucket_paths_info("alice/py-copy-dest", ["copied/weights.bin"]))
    assert copied and copied[0].xet_hash == weights.xet_hash and copied[0].size == weights.size
    api.batch_bucket_files("alice/py", delete=["batch/from-bytes.txt"])
    assert "batch/from-bytes.txt" not in {f.path for f in api.list_bucket_tree("alice/py", recursive=True)}
    # copy_files (paths-info + tree + copyFile lines)
    api.copy_files("hf://buckets/alice/py/batch/notes/", "hf://buckets/alice/py-copy-dest/notes-copy/")
    got = sorted(f.path for f in api.list_bucket_tree("alice/py-copy-dest", prefix="notes-copy", recursive=True))
    assert got == ["notes-copy/deeper/one.txt", "notes-copy/readme.md"], got
    ok("batch", weights=weights.xet_hash)


def step_download(work: Path) -> None:
    dst = work / "batch-dl"
    paths = [f"batch/{rel}" for rel in TREE]
    api.download_bucket_files("alice/py", [(p, str(dst / p)) for p in paths], raise_on_missing_files=True)
    assert read_tree(dst / "batch") == TREE
    # BucketFile entries skip paths-info; the copy in the other bucket downloads the same bytes
    entries = [f for f in api.list_bucket_tree("alice/py-copy-dest", recursive=True) if f.path == "copied/weights.bin"]
    api.download_bucket_files("alice/py-copy-dest", [(entries[0], str(work / "copied.bin"))])
    assert (work / "copied.bin").read_bytes() == TREE["model/weights.bin"]
    meta = api.get_bucket_file_metadata("alice/py", "batch/model/weights.bin")
    assert meta.size == len(TREE["model/weights.bin"])
    ok("download")


def step_sync_up(work: Path) -> None:
    src = work / "sync-src"
    if not src.exists():
        write_tree(src, TREE)
    plan = api.sync_bucket(str(src), "hf://buckets/alice/py/synced", quiet=True)
    s = plan.summary()
    ok("sync-up", uploads=s["uploads"], skips=s["skips"], deletes=s["deletes"])


def step_sync_down(work: Path) -> None:
    dst = work / "sync-dst"
    plan = api.sync_bucket("hf://buckets/alice/py/synced", str(dst), quiet=True)
    assert read_tree(dst) == TREE, sorted(read_tree(dst))
    ok("sync-down", downloads=plan.summary()["downloads"])


def step_fs(work: Path) -> None:
    fs = HfFileSystem()
    names = sorted(fs.ls("buckets/alice/py/synced/model", detail=False))
    assert names == ["buckets/alice/py/synced/model/config.json", "buckets/alice/py/synced/model/weights.bin"], names
    detail = {e["name"]: e for e in fs.ls("buckets/alice/py/synced", detail=True)}
    assert detail["buckets/alice/py/synced/notes"]["type"] == "directory", detail
    weights = TREE["model/weights.bin"]
    with fs.open("hf://buckets/alice/py/synced/model/weights.bin", "rb") as f:
        assert f.read() == weights
    with fs.open("hf://buckets/alice/py/synced/model/weights.bin", "rb", block_size=4096) as f:
        f.seek(1_000_000)
        assert f.read(10_000) == weights[1_000_000:1_010_000]
    assert fs.cat_file("hf://buckets/alice/py/synced/notes/deeper/one.txt") == b"1"
    assert fs.read_bytes("hf://buckets/alice/py/synced/model/config.json") == TREE["model/config.json"]
    fs.get_file("hf://buckets/alice/py/synced/notes/readme.md", str(work / "fs-get.md"))
    assert (work / "fs-get.md").read_bytes() == TREE["notes/readme.md"]
    ok("fs")


BIG = data("dedup", 12 * 1024 * 1024 + 5)


def step_dedup_first(work: Path) -> None:
    api.create_bucket("alice/dedup-a", exist_ok=True)
    api.batch_bucket_files("alice/dedup-a", add=[(BIG, "big.bin")])
    ok("dedup-first", sha=hashlib.sha256(BIG).hexdigest())


def step_dedup_second(work: Path) -> None:
    api.create_bucket("alice/dedup-b", exist_ok=True)
    api.batch_bucket_files("alice/dedup-b", add=[(BIG, "again/big.bin")])
    dst = work / "dedup-dl.bin"
    api.download_bucket_files("alice/dedup-b", [("again/big.bin", str(dst))], raise_on_missing_files=True)
    assert dst.read_bytes() == BIG
    ok("dedup-second")


def step_refresh(work: Path) -> None:
    """One upload session and one download session long enough to outlive short CAS tokens."""
    api.create_bucket("alice/refresh", exist_ok=True)
    blobs = [data(f"refresh-{i}", 8 * 1024 * 1024) for i in range(4)]
    api.batch_bucket_files("alice/refresh", add=[(b, f"part-{i}.bin") for i, b in enumerate(blobs)])
    dst = work / "refresh"
    api.download_bucket_files("alice/refresh", [(f"part-{i}.bin", str(dst / f"part-{i}.bin")) for i in range(4)])
    for i, b in enumerate(blobs):
        assert (dst / f"part-{i}.bin").read_bytes() == b
    ok("refresh")


CKPT = data("checkpoint", 160 * 1024 * 1024)


def step_ckpt_first(work: Path) -> None:
    api.create_bucket("alice/ckpt", exist_ok=True)
    api.batch_bucket_files("alice/ckpt", add=[(CKPT, "step-1/model.bin")])
    ok("ckpt-first")


def step_ckpt_second(work: Path) -> None:
    # The next checkpoint: a changed header and a changed region in the middle, the rest identical.
    changed = bytearray(CKPT)
    changed[:200_000] = data("new header", 200_000)
    changed[90_000_000:90_300_000] = data("new middle", 300_000)
    api.batch_bucket_files("alice/ckpt", add=[(bytes(changed), "step-2/model.bin")])
    dst = work / "ckpt-2.bin"
    api.download_bucket_files("alice/ckpt", [("step-2/model.bin", str(dst))], raise_on_missing_files=True)
    assert dst.read_bytes() == bytes(changed)
    ok("ckpt-second")


STEPS = {
    "ckpt-first": step_ckpt_first,
    "ckpt-second": step_ckpt_second,
    "refresh": step_refresh,
    "create": step_create,
    "batch": step_batch,
    "download": step_download,
    "sync-up": step_sync_up,
    "sync-down": step_sync_down,
    "fs": step_fs,
    "dedup-first": step_dedup_first,
    "dedup-second": step_dedup_second,
}

if __name__ == "__main__":
    STEPS[sys.argv[1]](Path(sys.argv[2]))
