"""huggingface_hub 2.4's live follow against a local hub (driven by js/test/server/events-python.test.ts).

    follow.py follower BUCKET PATH   BucketFollower: prints {"ready": ...} once subscribed, then waits for a
                                     change of PATH (made by the TypeScript side) and prints what it received.
    follow.py fs BUCKET PATH         HfFileSystem(live_follow=True): lists the bucket (cached), prints
                                     {"ready": ...}, then lists again (no refresh) until PATH shows up.
Every line printed is one JSON object; the last one is the result.
"""

import json
import sys
import threading
import time

from huggingface_hub import HfFileSystem, constants
from huggingface_hub._bucket_live_follow import BUCKET_FOLLOWERS, BucketFollower

TIMEOUT = 30


def out(obj):
    print(json.dumps(obj), flush=True)


def follower(bucket, path):
    received = []
    reconciles = []
    seen = threading.Event()

    def on_changes(changes):
        for c in changes:
            received.append(
                {
                    "path": c.path,
                    "op": c.op,
                    "size": c.size,
                    "xet_hash": c.xet_hash,
                    "mtime": c.mtime.isoformat() if c.mtime else None,
                    "uploaded_at": c.uploaded_at.isoformat() if c.uploaded_at else None,
                }
            )
            if c.path == path:
                seen.set()

    f = BucketFollower(
        endpoint=constants.ENDPOINT,
        bucket_id=bucket,
        on_changes=on_changes,
        on_reconcile=lambda: reconciles.append(time.time()),
        is_alive=lambda: True,
    )
    f.start()
    deadline = time.time() + TIMEOUT
    while not f.subscribed:
        if time.time() > deadline or not f.is_alive():
            out({"error": "the follower never reached ready", "alive": f.is_alive()})
            sys.exit(1)
        time.sleep(0.02)
    out({"ready": True, "resume": list(f._resume) if f._resume else None})
    if not seen.wait(TIMEOUT):
        out({"error": f"no change of {path} received", "received": received})
        sys.exit(1)
    f.stop()
    out({"ok": True, "received": received, "reconciles": len(reconciles), "resume": list(f._resume)})


def fs_follow(bucket, path):
    fs = HfFileSystem(live_follow=True)
    root = f"buckets/{bucket}"
    before = fs.ls(root, detail=False)
    deadline = time.time() + TIMEOUT
    # Wait until the shared follower of this bucket is subscribed, so the test changes the bucket after that.
    while not any(key[2] == bucket and follower.subscribed for key, (follower, _) in BUCKET_FOLLOWERS.items()):
        if time.time() > deadline:
            out({"error": "HfFileSystem's follower never reached ready"})
            sys.exit(1)
        time.sleep(0.02)
    out({"ready": True, "before": before})
    while True:
        listing = fs.ls(root, detail=False)  # no refresh: only the live feed can make the new file appear
        if f"{root}/{path}" in listing:
            break
        if time.time() > deadline:
            out({"error": f"{path} never appeared", "listing": listing})
            sys.exit(1)
        time.sleep(0.1)
    out({"ok": True, "before": before, "after": listing})


if __name__ == "__main__":
    mode, bucket, path = sys.argv[1:4]
    (follower if mode == "follower" else fs_follow)(bucket, path)
