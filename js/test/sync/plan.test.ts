/**
 * Sync planning against huggingface_hub 2.4.0 as an oracle: filters (fnmatch, rule order), the comparison
 * rules and reasons, time rendering, and the plan's JSONL format, checked case by case in Python.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { FilterMatcher, fnmatchToRegExp, parseFilterRules } from "../../src/sync/filters.js";
import { compareListings, isoFromMs, parsePlan, serializePlan, summarize, checkRelativePath, type SideFile } from "../../src/sync/plan.js";
import { ROOT } from "../helpers/files.js";

const PYTHON = join(ROOT, ".venv", "bin", "python");

function py(script: string, input: unknown): any {
  const res = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout);
}

const PATHS = [
  "a.bin",
  "a.txt",
  "dir/a.txt",
  "dir/sub/b.safetensors",
  "logs.json",
  "logs/x.log",
  "logs_backup/y",
  ".hidden",
  "dir/.hidden",
  "weird[1].bin",
  "x?y",
  "α/β.txt",
  "ckpt-0001/model.bin",
  "ckpt-0010/optimizer.pt",
  "a\\b",
  "space name.txt",
  "UPPER.TXT",
];
const PATTERNS = [
  "*",
  "*.txt",
  "dir/*",
  "*/sub/*",
  "logs",
  "logs*",
  "logs/*",
  "[ab].*",
  "[!a]*",
  "weird[[]1].bin",
  "*.[Tt][Xx][Tt]",
  "?.bin",
  "ckpt-00[0-9][0-9]/*",
  "*.safetensors",
  "dir\\*",
  "α/*",
  "[]]",
  "[!]",
  "x?y",
  "*[",
  "**/*.pt",
];

test("fnmatch translation matches Python's fnmatchcase on every pattern × path", () => {
  const ours = PATTERNS.map((p) => PATHS.map((x) => fnmatchToRegExp(p.replace(/\\/g, "/")).test(x)));
  const theirs = py(
    "import sys, json, fnmatch\nd = json.load(sys.stdin)\nprint(json.dumps([[fnmatch.fnmatchcase(x, p.replace('\\\\', '/')) for x in d['paths']] for p in d['patterns']]))",
    { paths: PATHS, patterns: PATTERNS },
  );
  assert.deepEqual(ours, theirs);
});

test("FilterMatcher: filter-file rules first, then exclude, then include — same as huggingface_hub", () => {
  const cases = [
    { include: [], exclude: [], rules: "" },
    { include: ["*.txt"], exclude: [], rules: "" },
    { include: ["*.txt"], exclude: ["dir/*"], rules: "" },
    { include: [], exclude: ["logs*"], rules: "" },
    { include: ["*"], exclude: ["*.bin"], rules: "+ ckpt-0001/*\n# comment\n\n- *.pt\ndir/sub/*" },
    { include: [], exclude: [], rules: "- *\n+ *.txt" },
  ];
  for (const c of cases) {
    const m = new FilterMatcher({ include: c.include, exclude: c.exclude, filterRules: parseFilterRules(c.rules) });
    const ours = PATHS.map((p) => m.matches(p));
    const theirs = py(
      `import sys, json, tempfile, os
from huggingface_hub._buckets import FilterMatcher, _parse_filter_file
d = json.load(sys.stdin)
f = tempfile.NamedTemporaryFile("w", delete=False, suffix=".txt"); f.write(d["rules"]); f.close()
m = FilterMatcher(d["include"], d["exclude"], _parse_filter_file(f.name)); os.unlink(f.name)
print(json.dumps([m.matches(p) for p in d["paths"]]))`,
      { ...c, paths: PATHS },
    );
    assert.deepEqual(ours, theirs, JSON.stringify(c));
  }
});

test("comparison rules and reasons equal huggingface_hub's _compare_files_for_sync for every mode", () => {
  const t0 = 1_795_772_582_008.25;
  const pairs: [SideFile, SideFile][] = [];
  for (const ds of [0, 1, -1])
    for (const dt of [0, 999, 1000, 1001, -1001, 5000.5, -5000])
      pairs.push([
        { size: 100 + ds, mtimeMs: t0 + dt },
        { size: 100, mtimeMs: t0 },
      ]);
  const modes = [{}, { ignoreTimes: true }, { ignoreSizes: true }, { ignoreExisting: true }];
  for (const direction of ["upload", "download"] as const) {
    for (const mode of modes) {
      const ours = pairs.map(([s, d]) => compareListings(direction, new Map([["p", s]]), new Map([["p", d]]), mode)[0]);
      const theirs = py(
        `import sys, json
from huggingface_hub._buckets import _compare_files_for_sync
d = json.load(sys.stdin); up = d["direction"] == "upload"; m = d["mode"]
out = []
for s, t in d["pairs"]:
    op = _compare_files_for_sync(path="p", action=d["direction"], source_size=s["size"], source_mtime=s["mtimeMs"], dest_size=t["size"], dest_mtime=t["mtimeMs"],
        source_newer_label="local newer" if up else "remote newer", dest_newer_label="remote newer" if up else "local newer",
        ignore_sizes=m.get("ignoreSizes", False), ignore_times=m.get("ignoreTimes", False), ignore_existing=m.get("ignoreExisting", False))
    out.append({"action": op.action, "path": op.path, "reason": op.reason, "size": op.size, "local_mtime": op.local_mtime, "remote_mtime": op.remote_mtime})
print(json.dumps(out))`,
        { direction, mode, pairs },
      );
      assert.deepEqual(ours, theirs, `${direction} ${JSON.stringify(mode)}`);
    }
  }
});

test("new files, --existing, --delete, sorted order; plan JSONL round trip and Python reads our plan", () => {
  const src = new Map<string, SideFile>([
    ["b.txt", { size: 3, mtimeMs: 2000 }],
    ["a/new.bin", { size: 10, mtimeMs: 1_700_000_000_000 }],
    ["same.bin", { size: 5, mtimeMs: 1000 }],
  ]);
  const dst = new Map<string, SideFile>([
    ["same.bin", { size: 5, mtimeMs: 1000 }],
    ["gone.txt", { size: 7, mtimeMs: 1000 }],
  ]);
  const ops = compareListings("upload", src, dst, { delete: true });
  assert.deepEqual(
    ops.map((o) => [o.action, o.path, o.reason]),
    [
      ["upload", "a/new.bin", "new file"],
      ["upload", "b.txt", "new file"],
      ["delete", "gone.txt", "not in source (--delete)"],
      ["skip", "same.bin", "identical"],
    ],
  );
  assert.deepEqual(
    compareListings("upload", src, dst, { existing: true }).map((o) => o.action),
    ["skip", "skip", "skip"],
  );
  assert.equal(
    compareListings("upload", src, dst, {}).some((o) => o.action === "delete"),
    false,
  );

  const plan = { source: "/data/run", dest: "hf://buckets/u/b/ckpt", timestamp: isoFromMs(Date.UTC(2026, 10, 27)), operations: ops };
  const text = serializePlan(plan);
  assert.deepEqual(parsePlan(text), plan);
  assert.deepEqual(summarize(plan), { uploads: 2, downloads: 0, deletes: 1, skips: 1, total_size: 13 });
  const loaded = py(
    `import sys, json, tempfile, os
from huggingface_hub._buckets import _load_plan, _write_plan
import io
f = tempfile.NamedTemporaryFile("w", delete=False); f.write(json.load(sys.stdin)); f.close()
p = _load_plan(f.name); os.unlink(f.name)
buf = io.StringIO(); _write_plan(p, buf)
print(json.dumps({"summary": p.summary(), "ops": [[o.action, o.path, o.reason, o.size] for o in p.operations], "rewritten": buf.getvalue()}))`,
    text as unknown,
  );
  assert.deepEqual(loaded.summary, summarize(plan));
  assert.deepEqual(
    loaded.ops,
    ops.map((o) => [o.action, o.path, o.reason, o.size]),
  );
  assert.equal(loaded.rewritten, text, "Python rewrites our plan byte for byte");
});

test("time rendering is Python's isoformat(); unsafe plan paths are refused", () => {
  const theirs = py(
    "import sys, json\nfrom datetime import datetime, timezone\nprint(json.dumps([datetime.fromtimestamp(m / 1000, tz=timezone.utc).isoformat() for m in json.load(sys.stdin)]))",
    [0, 1000, 1_795_772_582_008, 1_795_772_582_008.5, 1_700_000_000_123.456, 86_400_000],
  );
  assert.deepEqual([0, 1000, 1_795_772_582_008, 1_795_772_582_008.5, 1_700_000_000_123.456, 86_400_000].map(isoFromMs), theirs);
  for (const bad of ["../x", "/abs", "a//b", "a/./b", "a\\b", "x\0y", "", "C:/x"]) assert.throws(() => checkRelativePath(bad));
  assert.equal(checkRelativePath("a/b.txt"), "a/b.txt");
  assert.throws(() => parsePlan(""), /empty plan/);
  assert.throws(() => parsePlan('{"type": "operation"}\n'), /header/);
});
