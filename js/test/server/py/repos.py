"""The official Python client (huggingface_hub 2.4.0 + hf_xet 1.8.0) on the local hub's model and dataset
repositories.

Run by js/test/server/repos.test.ts with HF_ENDPOINT / HF_TOKEN / HF_HOME set; each step is its own process
and asserts its own results, then prints one JSON line.

    python repos.py STEP WORKDIR [REPO_TYPE]
"""

import hashlib
import json
import os
import random
import sys
from pathlib import Path

from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

api = HfApi()


def data(name: str, size: int) -> bytes:
    return random.Random(name).randbytes(size)


# Uploaded with upload_folder: a large binary (an LFS file, by size and content), a nested one, a text file,
# an empty file, and a small binary file (LFS by its .bin extension).
TREE = {
    "weights/model.safetensors": data("weights", 12 * 1024 * 1024 + 5),
    "weights/shards/part-0.bin": data("part0", 300_000),
    "config.json": json.dumps({"hidden": 1024, "layers": [1, 2, 3]}).encode(),
    "empty.txt": b"",
    "notes/readme.md": b"# notes\n" * 100,
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


def repo_id(repo_type: str) -> str:
    return f"alice/py-{repo_type}"


def step_create(work: Path, repo_type: str) -> None:
    rid = repo_id(repo_type)
    url = api.create_repo(rid, repo_type=repo_type, private=repo_type == "dataset")
    assert url.repo_id == rid and url.repo_type == repo_type, url
    again = api.create_repo(rid, repo_type=repo_type, exist_ok=True)
    assert again.repo_id == rid
    try:
        api.create_repo(rid, repo_type=repo_type)
        raise AssertionError("a second create_repo without exist_ok must fail")
    except HfHubHTTPError as e:
        assert e.response.status_code == 409, e
    info = api.repo_info(rid, repo_type=repo_type)
    assert info.id == rid and len(info.sha) == 40, info
    assert info.private == (repo_type == "dataset")
    # A new repository holds the Hub's initial commit: a .gitattributes file.
    assert api.list_repo_files(rid, repo_type=repo_type) == [".gitattributes"]
    assert api.repo_exists(rid, repo_type=repo_type)
    ok("create", sha=info.sha)


def step_upload(work: Path, repo_type: str) -> None:
    rid = repo_id(repo_type)
    src = work / f"tree-{repo_type}"
    write_tree(src, TREE)
    one = api.upload_file(
        path_or_fileobj=b"first version\n", path_in_repo="versioned.txt", repo_id=rid, repo_type=repo_type, commit_message="first"
    )
    folder = api.upload_folder(folder_path=src, repo_id=rid, repo_type=repo_type, commit_message="the tree")
    two = api.upload_file(
        path_or_fileobj=b"second version\n", path_in_repo="versioned.txt", repo_id=rid, repo_type=repo_type, commit_message="second"
    )
    files = sorted(api.list_repo_files(rid, repo_type=repo_type))
    assert files == sorted([".gitattributes", "versioned.txt", *TREE]), files
    commits = api.list_repo_commits(rid, repo_type=repo_type)
    assert [c.title for c in commits] == ["second", "the tree", "first", "initial commit"], [c.title for c in commits]
    assert commits[0].commit_id == two.oid and commits[1].commit_id == folder.oid and commits[2].commit_id == one.oid
    assert all(c.authors == ["alice"] for c in commits)
    # Tree entries: LFS files carry their SHA-256 and Xet hash; regular files their Git blob id.
    tree = {f.path: f for f in api.list_repo_tree(rid, repo_type=repo_type, recursive=True)}
    w = tree["weights/model.safetensors"]
    assert w.lfs is not None and w.lfs.sha256 == hashlib.sha256(TREE["weights/model.safetensors"]).hexdigest(), w
    assert w.xet_hash is not None and w.size == len(TREE["weights/model.safetensors"])
    cfg = tree["config.json"]
    assert cfg.lfs is None and cfg.xet_hash is None
    blob = TREE["config.json"]
    assert cfg.blob_id == hashlib.sha1(b"blob %d\0" % len(blob) + blob).hexdigest()
    assert type(tree["weights/shards"]).__name__ == "RepoFolder"
    infos = api.get_paths_info(rid, ["config.json", "weights", "nope.txt"], repo_type=repo_type)
    assert sorted(type(i).__name__ for i in infos) == ["RepoFile", "RepoFolder"], infos
    # An unchanged file is not committed again (huggingface_hub compares the preupload oid).
    same = api.upload_file(path_or_fileobj=TREE["config.json"], path_in_repo="config.json", repo_id=rid, repo_type=repo_type)
    assert same.oid == two.oid, "no new commit for an unchanged file"
    ok("upload", first=one.oid, second=two.oid, xet_hash=w.xet_hash, sha256=w.lfs.sha256)


def step_download(work: Path, repo_type: str) -> None:
    rid = repo_id(repo_type)
    for rel, content in TREE.items():
        p = hf_hub_download(rid, rel, repo_type=repo_type, cache_dir=work / f"cache-{repo_type}")
        assert Path(p).read_bytes() == content, rel
    snap = Path(snapshot_download(rid, repo_type=repo_type, cache_dir=work / f"snap-{repo_type}"))
    got = read_tree(snap)
    assert {k: v for k, v in got.items() if k in TREE} == TREE
    assert sorted(got) == sorted([".gitattributes", "versioned.txt", *TREE]), sorted(got)
    local = Path(snapshot_download(rid, repo_type=repo_type, local_dir=work / f"local-{repo_type}"))
    assert {k: v for k, v in read_tree(local).items() if k in TREE} == TREE
    ok("download", files=len(got))


def step_revisions(work: Path, repo_type: str) -> None:
    rid = repo_id(repo_type)
    commits = api.list_repo_commits(rid, repo_type=repo_type)
    first = next(c.commit_id for c in commits if c.title == "first")
    old = hf_hub_download(rid, "versioned.txt", repo_type=repo_type, revision=first, cache_dir=work / "rev")
    new = hf_hub_download(rid, "versioned.txt", repo_type=repo_type, cache_dir=work / "rev")
    assert Path(old).read_bytes() == b"first version\n" and Path(new).read_bytes() == b"second version\n"
    # The tree at the first commit has no weights yet.
    assert sorted(api.list_repo_files(rid, repo_type=repo_type, revision=first)) == [".gitattributes", "versioned.txt"]
    assert api.repo_info(rid, repo_type=repo_type, revision=first).sha == first
    try:
        hf_hub_download(rid, "versioned.txt", repo_type=repo_type, revision="no-such-branch", cache_dir=work / "rev2")
        raise AssertionError("an unknown revision must fail")
    except RevisionNotFoundError:
        pass
    ok("revisions", first=first)


def step_errors(work: Path, repo_type: str) -> None:
    rid = repo_id(repo_type)
    try:
        hf_hub_download(rid, "no/such/file.bin", repo_type=repo_type, cache_dir=work / "err")
        raise AssertionError("a missing file must fail")
    except EntryNotFoundError:
        pass
    try:
        api.repo_info("alice/never-created", repo_type=repo_type)
        raise AssertionError("a missing repository must fail")
    except RepositoryNotFoundError:
        pass
    # A deletion of a missing file fails the whole commit: nothing else of it is applied.
    before = api.repo_info(rid, repo_type=repo_type).sha
    try:
        api.create_commit(
            rid,
            repo_type=repo_type,
            operations=[
                CommitOperationAdd(path_in_repo="partial.txt", path_or_fileobj=b"must not land"),
                CommitOperationDelete(path_in_repo="not-there.txt"),
            ],
            commit_message="half",
        )
        raise AssertionError("deleting a missing file must fail")
    except EntryNotFoundError:
        pass
    assert api.repo_info(rid, repo_type=repo_type).sha == before
    assert not api.file_exists(rid, "partial.txt", repo_type=repo_type)
    ok("errors")


def step_other_user(work: Path, repo_type: str) -> None:
    """Run with bob's token: alice's private dataset is invisible, her public model is read-only."""
    rid = repo_id(repo_type)
    if repo_type == "dataset":
        try:
            api.repo_info(rid, repo_type=repo_type)
            raise AssertionError("bob must not see alice's private dataset")
        except RepositoryNotFoundError:
            pass
        assert not api.repo_exists(rid, repo_type=repo_type)
    else:
        p = hf_hub_download(rid, "config.json", repo_type=repo_type, cache_dir=work / "bob")
        assert Path(p).read_bytes() == TREE["config.json"]
        try:
            api.upload_file(path_or_fileobj=b"x", path_in_repo="bob.txt", repo_id=rid, repo_type=repo_type)
            raise AssertionError("bob must not write in alice's model")
        except HfHubHTTPError as e:
            assert e.response.status_code == 403, e
    ok("other-user")


def step_delete(work: Path, repo_type: str) -> None:
    rid = repo_id(repo_type)
    api.delete_file("versioned.txt", rid, repo_type=repo_type)
    api.delete_folder("weights", rid, repo_type=repo_type)
    files = sorted(api.list_repo_files(rid, repo_type=repo_type))
    assert files == sorted([".gitattributes", "config.json", "empty.txt", "notes/readme.md"]), files
    api.delete_repo(rid, repo_type=repo_type)
    assert not api.repo_exists(rid, repo_type=repo_type)
    api.delete_repo(rid, repo_type=repo_type, missing_ok=True)
    ok("delete")


def step_seed_import(work: Path, repo_type: str) -> None:
    """A model with one Xet file and one small regular file, for the import tests (repo -> bucket)."""
    rid = "alice/import-src"
    api.create_repo(rid, repo_type=repo_type, exist_ok=True)
    api.upload_file(path_or_fileobj=data("import-w", 5 * 1024 * 1024 + 11), path_in_repo="w.bin", repo_id=rid, repo_type=repo_type)
    api.upload_file(path_or_fileobj=b'{"import": true}', path_in_repo="cfg/config.json", repo_id=rid, repo_type=repo_type)
    w = api.get_paths_info(rid, ["w.bin"], repo_type=repo_type)[0]
    ok("seed-import", xet_hash=w.xet_hash, size=w.size)


def step_check_download(work: Path, repo_type: str) -> None:
    """Downloads the files named in WORKDIR/expect.json ({repo_id, files: {path: sha256}}) and checks them."""
    spec = json.loads((work / "expect.json").read_text())
    for path, sha in spec["files"].items():
        p = hf_hub_download(spec["repo_id"], path, repo_type=repo_type, cache_dir=work / "check")
        got = hashlib.sha256(Path(p).read_bytes()).hexdigest()
        assert got == sha, (path, got, sha)
    info = {f.path: f for f in api.list_repo_tree(spec["repo_id"], repo_type=repo_type, recursive=True)}
    for path, sha in spec["files"].items():
        if info[path].lfs is not None:
            assert info[path].lfs.sha256 == sha, path
    ok("check-download", files=len(spec["files"]))


STEPS = {
    "create": step_create,
    "upload": step_upload,
    "download": step_download,
    "revisions": step_revisions,
    "errors": step_errors,
    "other-user": step_other_user,
    "delete": step_delete,
    "seed-import": step_seed_import,
    "check-download": step_check_download,
}

if __name__ == "__main__":
    STEPS[sys.argv[1]](Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "model")
