"""The local hub answers as the Hub does, as huggingface_hub 2.4's own bucket tests expect of the live Hub.

Run by js/test/server/fidelity.test.ts with HF_ENDPOINT / HF_HOME set and HF_TOKEN set or not (anonymous
steps). Each step is a separate process and asserts its own results; the references in comments name the
official test or code the expectation comes from (huggingface_hub tests/test_buckets.py,
tests/test_buckets_cli.py, src/huggingface_hub/utils/_http.py).

    python fidelity.py STEP WORKDIR
"""

import json
import os
import random
import sys
from pathlib import Path

from huggingface_hub import HfApi, HfFileSystem, hf_hub_download
from huggingface_hub.errors import (
    BucketNotFoundError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)

api = HfApi()
OTHER_TOKEN = os.environ.get("FIDELITY_OTHER_TOKEN")

# The files of test_buckets.py's `_init_bucket`.
INIT_FILES = [
    (b"content", "file.txt"),
    (b"content", "sub/file.txt"),
    (b"binary", "binary.bin"),
    (b"binary", "sub/binary.bin"),
]


def ok(step: str, **info) -> None:
    print(json.dumps({"ok": step, **info}), flush=True)


def expect_http_error(call, status: int, cls=HfHubHTTPError) -> HfHubHTTPError:
    """Runs `call`, which must raise `cls` (an HfHubHTTPError) with `status`; returns the error."""
    try:
        call()
    except cls as e:
        assert e.response.status_code == status, (e.response.status_code, str(e))
        return e
    raise AssertionError(f"expected {cls.__name__} {status}")


def step_tree(work: Path) -> None:
    # Implicit namespace on create (test_create_bucket_implicit_namespace).
    bucket = api.create_bucket("fid-tree").bucket_id
    assert bucket == "alice/fid-tree", bucket
    api.batch_bucket_files(bucket, add=INIT_FILES)
    # test_list_bucket_tree_on_public_bucket: no `recursive` sent -> every file, files only.
    tree = list(api.list_bucket_tree(bucket))
    assert len(tree) == 4, tree
    for entry in tree:
        assert entry.type == "file", entry
        assert entry.size > 0 and entry.xet_hash is not None and entry.mtime is not None, entry
    assert {e.path for e in tree} == {"file.txt", "sub/file.txt", "binary.bin", "sub/binary.bin"}
    # The guide: "List top-level entries only" with recursive=False.
    top = {(e.type, e.path) for e in api.list_bucket_tree(bucket, recursive=False)}
    assert top == {("file", "file.txt"), ("file", "binary.bin"), ("directory", "sub")}, top
    # A prefix without `recursive` lists everything below it too.
    assert {e.path for e in api.list_bucket_tree(bucket, prefix="sub")} == {"sub/file.txt", "sub/binary.bin"}
    # test_buckets_cli.py `_remote_files`: uploads to a folder show up in the default listing.
    api.batch_bucket_files(bucket, add=[(b"a,b,c", "logs/data.csv")])
    assert "logs/data.csv" in {f.path for f in api.list_bucket_tree(bucket)}
    # HfFileSystem asks for one level explicitly and still sees folders.
    fs = HfFileSystem()
    names = sorted(fs.ls(f"buckets/{bucket}", detail=False))
    assert names == [f"buckets/{bucket}/{n}" for n in ("binary.bin", "file.txt", "logs", "sub")], names
    ok("tree")


def step_implicit(work: Path) -> None:
    # test_cannot_bucket_info_with_implicit_namespace / test_delete_bucket_cannot_do_implicit_namespace.
    expect_http_error(lambda: api.bucket_info("fid-tree"), 404)
    expect_http_error(lambda: api.delete_bucket("fid-tree"), 404)
    assert api.bucket_info("alice/fid-tree").id == "alice/fid-tree", "nothing was deleted"
    # A real namespace still lists its buckets.
    assert "alice/fid-tree" in {b.id for b in api.list_buckets(namespace="alice")}
    ok("implicit")


def step_private_setup(work: Path) -> None:
    private = api.create_bucket("alice/fid-private", private=True).bucket_id
    api.batch_bucket_files(private, add=INIT_FILES)
    public = api.create_bucket("alice/fid-public", private=False).bucket_id
    api.batch_bucket_files(public, add=INIT_FILES)
    # test_list_bucket_tree_on_private_bucket, first assertion (the owner sees everything).
    assert len(list(api.list_bucket_tree(private))) == 4
    ok("private-setup")


def step_anonymous(work: Path) -> None:
    # test_list_bucket_tree_on_private_bucket / test_bucket_info_private: anonymous callers get a 401.
    # hf_raise_for_status makes it a plain HfHubHTTPError (a 401 without X-Error-Code: RepoNotFound is no
    # BucketNotFoundError), whose message carries the Hub's "Invalid username or password.".
    calls = {
        "bucket_info": lambda: api.bucket_info("alice/fid-private"),
        "list_bucket_tree": lambda: list(api.list_bucket_tree("alice/fid-private")),
        "get_bucket_file_metadata": lambda: api.get_bucket_file_metadata("alice/fid-private", "file.txt"),
        # Missing buckets look the same as private ones (nothing tells which private names exist).
        "bucket_info of a missing bucket": lambda: api.bucket_info("alice/fid-missing"),
    }
    for name, call in calls.items():
        e = expect_http_error(call, 401)
        assert not isinstance(e, BucketNotFoundError), (name, type(e))
        assert "Invalid username or password." in str(e), (name, str(e))
    # test_bucket_info / test_list_buckets_with_private: public buckets stay readable anonymously.
    info = api.bucket_info("alice/fid-public")
    assert info.id == "alice/fid-public" and info.private is False
    assert len(list(api.list_bucket_tree("alice/fid-public"))) == 4
    ids = {b.id for b in api.list_buckets(namespace="alice")}
    assert "alice/fid-public" in ids and "alice/fid-private" not in ids, ids
    # Repositories do not exist on the local hub; huggingface_hub raises what it raises on the Hub.
    expect_http_error(lambda: api.model_info("alice/no-model"), 401, RepositoryNotFoundError)
    ok("anonymous")


def step_other_user(work: Path) -> None:
    # test_list_bucket_tree_on_private_bucket: another signed-in user gets BucketNotFoundError (404).
    expect_http_error(lambda: list(api.list_bucket_tree("alice/fid-private")), 404, BucketNotFoundError)
    expect_http_error(lambda: api.bucket_info("alice/fid-private"), 404, BucketNotFoundError)
    assert api.bucket_info("alice/fid-public").private is False
    # A write refused for lack of rights: the Hub's 403 message is built from X-Error-Message.
    e = expect_http_error(lambda: api.batch_bucket_files("alice/fid-public", delete=["file.txt"]), 403)
    assert "403 Forbidden: None" not in str(e) and "may not write" in str(e), str(e)
    ok("other-user")


def step_errors(work: Path) -> None:
    # X-Error-Code values hf_raise_for_status dispatches on (utils/_http.py).
    expect_http_error(lambda: api.model_info("alice/no-model"), 404, RepositoryNotFoundError)
    expect_http_error(lambda: api.dataset_info("alice/no-dataset"), 404, RepositoryNotFoundError)
    expect_http_error(lambda: api.list_repo_files("alice/no-space", repo_type="space"), 404, RepositoryNotFoundError)
    expect_http_error(lambda: hf_hub_download("alice/no-model", "config.json", cache_dir=str(work / "cache")), 404, RepositoryNotFoundError)
    fs = HfFileSystem()
    try:
        fs.ls("datasets/alice/no-dataset")
        raise AssertionError("expected FileNotFoundError")
    except FileNotFoundError:
        pass
    expect_http_error(lambda: api.get_bucket_file_metadata("alice/fid-public", "missing.txt"), 404, RemoteEntryNotFoundError)
    expect_http_error(lambda: api.bucket_info("alice/fid-missing"), 404, BucketNotFoundError)
    # Bad requests are BadRequestError (any 400) and carry the hub's reason.
    e = expect_http_error(lambda: api.create_bucket("alice/bad..name"), 400)
    assert type(e).__name__ == "BadRequestError", type(e)
    ok("errors")


def step_org(work: Path) -> None:
    # test_create_bucket_enterprise_org: private by default in such an organisation, hidden from others.
    created = api.create_bucket("acme/fid-org")
    assert created.bucket_id == "acme/fid-org"
    assert api.bucket_info("acme/fid-org").private is True
    # An explicit visibility still wins; user namespaces keep the public default.
    api.create_bucket("acme/fid-org-public", private=False)
    assert api.bucket_info("acme/fid-org-public").private is False
    api.create_bucket("acme/fid-org-private", private=True)
    assert api.bucket_info("acme/fid-org-private").private is True
    api.create_bucket("alice/fid-own")
    assert api.bucket_info("alice/fid-own").private is False
    other = HfApi(token=OTHER_TOKEN)
    expect_http_error(lambda: other.bucket_info("acme/fid-org"), 404, BucketNotFoundError)
    assert other.bucket_info("acme/fid-org-public").id == "acme/fid-org-public"
    ok("org")


def step_names(work: Path) -> None:
    # The Hub's test users are named like __DUMMY_TRANSFORMERS_USER__ (tests/testing_constants.py).
    me = api.whoami()["name"]
    assert me == "__DUMMY_HUB_USER__", me
    bucket = api.create_bucket("fid-dummy").bucket_id
    assert bucket == f"{me}/fid-dummy", bucket
    api.batch_bucket_files(bucket, add=[(b"dummy content", "d/file.txt")])
    assert [e.path for e in api.list_bucket_tree(bucket)] == ["d/file.txt"]
    dst = work / "dummy.txt"
    api.download_bucket_files(bucket, [("d/file.txt", str(dst))], raise_on_missing_files=True)
    assert dst.read_bytes() == b"dummy content"
    assert bucket in {b.id for b in api.list_buckets()}
    ok("names")


def step_cli(work: Path) -> None:
    """Flows of tests/test_buckets_cli.py and tests/test_copy_files.py, invoked the way those tests do."""
    from click.testing import CliRunner

    from huggingface_hub.cli.hf import app
    from huggingface_hub.errors import EntryNotFoundError

    def cli(command: str, input: str | None = None):
        assert command.startswith("hf ")
        return CliRunner().invoke(app, command.split(" ")[1:], input=input)

    def lines(command: str) -> list[str]:
        result = cli(command)
        assert result.exit_code == 0, (command, result.output)
        return [line for line in result.output.splitlines() if line.strip()]

    # test_copy_files.py test_cp_remote_bucket_to_bucket
    src = api.create_bucket("fid-cp-src").bucket_id
    dst = api.create_bucket("fid-cp-dst").bucket_id
    api.batch_bucket_files(src, add=[(b"aaa", "logs/a.txt"), (b"bbb", "logs/sub/b.txt"), (b"ccc", "c.txt")])
    result = cli(f"hf cp hf://buckets/{src}/logs hf://buckets/{dst}/backup/")
    assert result.exit_code == 0, result.output
    files = {f.path for f in api.list_bucket_tree(dst)}
    assert "backup/a.txt" in files and "backup/sub/b.txt" in files and "backup/c.txt" not in files, files
    # test_copy_files.py test_cp_error_remote_source_not_found
    result = cli(f"hf cp hf://buckets/{src}/doesnotexist.txt hf://buckets/{src}/out.txt")
    assert result.exit_code != 0 and isinstance(result.exception, EntryNotFoundError), (result.output, result.exception)
    # test_buckets_cli.py test_sync_upload_with_prefix
    data_dir = work / "cli-sync"
    data_dir.mkdir(exist_ok=True)
    (data_dir / "f.txt").write_text("data")
    assert cli(f"hf buckets sync {data_dir} hf://buckets/{dst}/subdir --quiet").exit_code == 0
    assert "subdir/f.txt" in {f.path for f in api.list_bucket_tree(dst)}
    # test_list_files_empty_bucket
    empty = api.create_bucket("fid-empty").bucket_id
    assert lines(f"hf buckets list {empty}") == ["(empty)"]
    # The `_populated_bucket` of test_buckets_cli.py: quiet, recursive, prefix and tree listings.
    pop = api.create_bucket("fid-populated").bucket_id
    api.batch_bucket_files(
        pop,
        add=[(b"hello", "file.txt"), (b"x" * 2048, "big.bin"), (b"nested content", "sub/nested.txt"), (b"deep", "sub/deep/file.txt")],
    )
    assert lines(f"hf buckets list {pop} -R --quiet") == ["big.bin", "file.txt", "sub/deep/file.txt", "sub/nested.txt"]
    assert lines(f"hf buckets list {pop}/sub -R --quiet") == ["sub/deep/file.txt", "sub/nested.txt"]
    assert lines(f"hf buckets list {pop} --tree -R --quiet") == [
        "├── big.bin",
        "├── file.txt",
        "└── sub/",
        "    ├── deep/",
        "    │   └── file.txt",
        "    └── nested.txt",
    ]
    assert lines(f"hf buckets list {pop} --tree --quiet") == ["├── big.bin", "├── file.txt", "└── sub/"]
    # test_bucket_info / test_bucket_info_quiet
    assert json.loads(cli(f"hf buckets info {pop}").output)["private"] is False
    assert lines(f"hf buckets info {pop} --quiet") == [pop]
    # test_create_bucket_exist_ok
    name = "fid-exist"
    assert cli(f"hf buckets create {name} --quiet").exit_code == 0
    again = cli(f"hf buckets create {name} --quiet")
    assert again.exit_code != 0 and isinstance(again.exception, HfHubHTTPError) and again.exception.response.status_code == 409
    assert lines(f"hf buckets create {name} --exist-ok --quiet") == [f"hf://buckets/alice/{name}"]
    # test_delete_bucket_missing_ok / test_delete_bucket_not_found
    assert cli("hf buckets delete alice/fid-none --yes --missing-ok").exit_code == 0
    assert cli("hf buckets delete alice/fid-none --yes").exit_code != 0
    ok("cli")


CAS_DATA = random.Random("fidelity-cas").randbytes(3 * 1024 * 1024 + 11)


def step_cas_upload(work: Path) -> None:
    """Uploads CAS_DATA with hf_xet (a second run, against a wiped hub with the same HF_HOME, must work too)."""
    bucket = api.create_bucket("alice/fid-cas", exist_ok=True).bucket_id
    name = sys.argv[3]
    api.batch_bucket_files(bucket, add=[(CAS_DATA, name)])
    dst = work / f"cas-{name}"
    api.download_bucket_files(bucket, [(name, str(dst))], raise_on_missing_files=True)
    assert dst.read_bytes() == CAS_DATA
    ok("cas-upload")


STEPS = {
    "tree": step_tree,
    "implicit": step_implicit,
    "private-setup": step_private_setup,
    "anonymous": step_anonymous,
    "other-user": step_other_user,
    "errors": step_errors,
    "org": step_org,
    "names": step_names,
    "cli": step_cli,
    "cas-upload": step_cas_upload,
}

if __name__ == "__main__":
    STEPS[sys.argv[1]](Path(sys.argv[2]))
