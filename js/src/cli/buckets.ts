/**
 * Bucket management commands, as `hf buckets` has them: create, list / ls, info, delete, move, settings.
 */
import { bucketInfo, createBucket, deleteBucket, listBuckets, moveBucket, updateBucketSettings, type BucketInfo } from "../api/buckets.js";
import { listFiles, type ListFileEntry } from "../api/files.js";
import type { XetBucketsError } from "../errors.js";
import { COMMON_HELP, bucketArg, confirm, setup } from "./common.js";
import { formatDate, formatSize, printable } from "./output.js";
import { UsageError, EXIT_OK, EXIT_FAILURE, type CommandIo } from "./util.js";

// ---------------------------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------------------------

const CREATE_USAGE = `Usage: xet-buckets create [OPTIONS] BUCKET_ID

  Create a new bucket.

Arguments:
  BUCKET_ID   Bucket ID: bucket_name, namespace/bucket_name, or hf://buckets/namespace/bucket_name

Options:
  --private         Create a private bucket.
  --region [us|eu]  Cloud region in which to create the bucket (Team plan or above).
  --exist-ok        Do not raise an error if the bucket already exists.
  -h, --help        Show this message and exit.

${COMMON_HELP}

Examples
  $ xet-buckets create my-bucket
  $ xet-buckets create user/my-bucket --private
  $ xet-buckets create hf://buckets/user/my-bucket --exist-ok`;

export async function runCreate(argv: string[], io: CommandIo): Promise<number> {
  const ctx = setup(
    argv,
    {
      name: "create",
      usage: CREATE_USAGE,
      positionals: ["BUCKET_ID"],
      options: [
        { name: "private", type: "boolean" },
        { name: "region", type: "string", choices: ["us", "eu"] },
        { name: "exist-ok", type: "boolean" },
      ],
    },
    io,
  );
  if (!ctx) return EXIT_OK;
  const ref = bucketArg(ctx.positionals[0]!, CREATE_USAGE, { allowPath: false, allowBareName: true });
  const url = await createBucket(ref.id, {
    ...ctx.hub,
    private: ctx.values.private ? true : undefined,
    region: ctx.values.region as string | undefined,
    existOk: !!ctx.values["exist-ok"],
  }).catch((err) => {
    if ((err as XetBucketsError)?.code === "CONFLICT")
      err.message = `bucket ${ref.id} already exists (pass --exist-ok to accept an existing bucket)`;
    throw err;
  });
  ctx.out.result("Bucket created", { uri: url.uri, url: url.url });
  return EXIT_OK;
}

// ---------------------------------------------------------------------------------------------
// list / ls
// ---------------------------------------------------------------------------------------------

const LIST_USAGE = `Usage: xet-buckets list [OPTIONS] [ARGUMENT]
       xet-buckets ls [OPTIONS] [ARGUMENT]

  List buckets or files in a bucket.

  When called with no argument or a namespace, lists buckets. When called with a bucket ID
  (namespace/bucket_name), lists files in the bucket.

Arguments:
  [ARGUMENT]  Namespace (user or org) to list buckets, or bucket ID
              (namespace/bucket_name(/prefix) or hf://buckets/...) to list files.

Options:
  -h, --human-readable  Show sizes in human readable format.
  --tree                List files in tree format (only for listing files).
  -R, --recursive       List files recursively (only for listing files).
  --search TEXT         Search query (only for listing buckets).
  --help                Show this message and exit.

${COMMON_HELP}

Examples
  $ xet-buckets list
  $ xet-buckets list huggingface --search "my-prefix"
  $ xet-buckets list user/my-bucket -R -h
  $ xet-buckets list user/my-bucket --tree
  $ xet-buckets ls hf://buckets/user/my-bucket/sub -R`;

function isBucketIdArg(arg: string): boolean {
  const rest = arg.startsWith("hf://buckets/")
    ? arg.slice("hf://buckets/".length)
    : arg.startsWith("buckets/")
      ? arg.slice("buckets/".length)
      : arg;
  return rest.replace(/\/+$/, "").includes("/");
}

export async function runList(argv: string[], io: CommandIo): Promise<number> {
  const ctx = setup(
    argv,
    {
      name: "list",
      usage: LIST_USAGE,
      positionals: ["ARGUMENT?"],
      options: [
        { name: "human-readable", short: "h", type: "boolean" },
        { name: "tree", type: "boolean" },
        { name: "recursive", short: "R", type: "boolean" },
        { name: "search", type: "string" },
      ],
    },
    io,
    { helpShort: false },
  );
  if (!ctx) return EXIT_OK;
  const arg = ctx.positionals[0];
  const human = !!ctx.values["human-readable"];
  const tree = !!ctx.values.tree;
  const recursive = !!ctx.values.recursive;
  const out = ctx.out;

  if (arg === undefined || !isBucketIdArg(arg)) {
    if (tree) throw new UsageError("cannot use --tree when listing buckets (give a bucket ID to list its files)", LIST_USAGE);
    if (recursive) throw new UsageError("cannot use --recursive when listing buckets (give a bucket ID to list its files)", LIST_USAGE);
    let namespace: string | undefined = arg
      ?.replace(/^hf:\/\/buckets\//, "")
      .replace(/^buckets\//, "")
      .replace(/\/+$/, "");
    if (namespace === "") namespace = undefined;
    if (arg?.startsWith("hf://") && !arg.startsWith("hf://buckets/")) {
      throw new UsageError(`"${arg}" is not a namespace or bucket: expected hf://buckets/namespace[/bucket_name]`, LIST_USAGE);
    }
    const items: Record<string, unknown>[] = [];
    for await (const b of listBuckets({ ...ctx.hub, namespace, search: ctx.values.search as string | undefined })) {
      items.push({
        id: b.id,
        private: b.private,
        size: human ? formatSize(b.size) : b.size,
        total_files: b.totalFiles,
        created_at: b.createdAt,
      });
    }
    out.table(items, { idKey: "id", right: ["size"] });
    return EXIT_OK;
  }

  if (ctx.values.search !== undefined) throw new UsageError("cannot use --search when listing files", LIST_USAGE);
  if (tree && out.json) throw new UsageError("cannot use --tree with --format json", LIST_USAGE);
  const ref = bucketArg(arg, LIST_USAGE);
  const items: ListFileEntry[] = [];
  for await (const e of listFiles({ ...ctx.hub, repo: `buckets/${ref.id}`, path: ref.path, recursive })) items.push(e);
  items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (items.length === 0) {
    if (out.json) out.print("[]");
    else out.text("(empty)");
    return EXIT_OK;
  }
  const isDir = (e: ListFileEntry) => e.type === "directory";
  const date = (e: ListFileEntry) => formatDate(isDir(e) ? e.uploadedAt : (e.mtime ?? e.uploadedAt), human);
  if (tree) {
    for (const line of buildTree(items, human, out.quiet, date)) out.print(line);
  } else if (out.json) {
    out.print(JSON.stringify(items.map(fileJson), null, 2));
  } else if (out.quiet) {
    for (const e of items) out.print(printable(e.path) + (isDir(e) ? "/" : ""));
  } else {
    for (const e of items) {
      const size = isDir(e) ? "" : formatSize(e.size, human);
      out.print(`${size.padStart(12)}  ${date(e).padStart(19)}  ${printable(e.path)}${isDir(e) ? "/" : ""}`);
    }
  }
  if (!recursive && items.some(isDir)) out.hint("Use -R to list files recursively.");
  return EXIT_OK;
}

/** A listing entry as `hf buckets list --json` prints it (huggingface_hub's BucketFile / BucketFolder). */
function fileJson(e: ListFileEntry): Record<string, unknown> {
  const o: Record<string, unknown> = { type: e.type, path: e.path };
  if (e.type === "file") {
    o.size = e.size;
    o.xet_hash = e.xetHash;
    if (e.mtime) o.mtime = e.mtime;
  }
  if (e.uploadedAt) o.uploaded_at = e.uploadedAt;
  return o;
}

interface TreeNode {
  children: Map<string, TreeNode>;
  entry?: ListFileEntry;
  dir: boolean;
}

/** hf's tree view: size and date columns, then `├── name` connectors; folders end with "/". */
export function buildTree(items: ListFileEntry[], human: boolean, quiet: boolean, date: (e: ListFileEntry) => string): string[] {
  const root: TreeNode = { children: new Map(), dir: true };
  for (const it of items) {
    const parts = it.path.split("/");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = { children: new Map(), dir: true }));
      node = next;
    }
    const last = parts[parts.length - 1]!;
    if (it.type === "directory") {
      if (!node.children.has(last)) node.children.set(last, { children: new Map(), dir: true });
    } else {
      node.children.set(last, { children: new Map(), dir: false, entry: it });
    }
  }
  let sizeW = 0;
  let dateW = 0;
  if (!quiet) {
    for (const it of items) {
      if (it.type !== "file") continue;
      sizeW = Math.max(sizeW, formatSize(it.size, human).length);
      dateW = Math.max(dateW, date(it).length);
    }
  }
  const prefixW = sizeW > 0 ? sizeW + 2 + dateW : 0;
  const lines: string[] = [];
  const render = (node: TreeNode, indent: string) => {
    const names = [...node.children.keys()].sort();
    names.forEach((name, i) => {
      const child = node.children.get(name)!;
      const lastOne = i === names.length - 1;
      const connector = lastOne ? "└── " : "├── ";
      const label = `${indent}${connector}${printable(name)}${child.dir ? "/" : ""}`;
      if (prefixW > 0) {
        const prefix = child.entry
          ? `${formatSize(child.entry.size, human).padStart(sizeW)}  ${date(child.entry)}`.padEnd(prefixW)
          : " ".repeat(prefixW);
        lines.push(`${prefix}  ${label}`);
      } else lines.push(label);
      if (child.children.size) render(child, indent + (lastOne ? "    " : "│   "));
    });
  };
  render(root, "");
  return lines;
}

// ---------------------------------------------------------------------------------------------
// info
// ---------------------------------------------------------------------------------------------

const INFO_USAGE = `Usage: xet-buckets info [OPTIONS] BUCKET_ID

  Get info about a bucket (printed as JSON: id, private, created_at, size, total_files).

Arguments:
  BUCKET_ID   Bucket ID: namespace/bucket_name or hf://buckets/namespace/bucket_name

Options:
  -h, --help  Show this message and exit.

${COMMON_HELP}

Examples
  $ xet-buckets info user/my-bucket
  $ xet-buckets info hf://buckets/user/my-bucket --json`;

/** A bucket record as `hf buckets info` prints it (snake_case keys). */
export function bucketJson(b: BucketInfo): Record<string, unknown> {
  const o: Record<string, unknown> = { id: b.id, private: b.private, created_at: b.createdAt, size: b.size, total_files: b.totalFiles };
  if (b.updatedAt) o.updated_at = b.updatedAt;
  return o;
}

export async function runInfo(argv: string[], io: CommandIo): Promise<number> {
  const ctx = setup(argv, { name: "info", usage: INFO_USAGE, positionals: ["BUCKET_ID"], options: [] }, io);
  if (!ctx) return EXIT_OK;
  const ref = bucketArg(ctx.positionals[0]!, INFO_USAGE);
  const info = await bucketInfo(ref.id, ctx.hub);
  ctx.out.dict(bucketJson(info), "id");
  return EXIT_OK;
}

// ---------------------------------------------------------------------------------------------
// delete
// ---------------------------------------------------------------------------------------------

const DELETE_USAGE = `Usage: xet-buckets delete [OPTIONS] BUCKET_ID

  Delete a bucket.

  This deletes the entire bucket and all its contents. Use \`xet-buckets rm\` to remove individual
  files. Asks for confirmation on a terminal; without a terminal, -y/--yes is required (otherwise the
  command refuses with exit code 2 and deletes nothing).

Arguments:
  BUCKET_ID   Bucket ID: namespace/bucket_name or hf://buckets/namespace/bucket_name

Options:
  -y, --yes     Skip confirmation prompt.
  --missing-ok  Do not raise an error if the bucket does not exist.
  -h, --help    Show this message and exit.

${COMMON_HELP}

Examples
  $ xet-buckets delete user/my-bucket
  $ xet-buckets delete hf://buckets/user/my-bucket --yes --missing-ok`;

export async function runDelete(argv: string[], io: CommandIo): Promise<number> {
  const ctx = setup(
    argv,
    {
      name: "delete",
      usage: DELETE_USAGE,
      positionals: ["BUCKET_ID"],
      options: [
        { name: "yes", short: "y", type: "boolean" },
        { name: "missing-ok", type: "boolean" },
      ],
    },
    io,
  );
  if (!ctx) return EXIT_OK;
  const ref = bucketArg(ctx.positionals[0]!, DELETE_USAGE, { allowPath: false });
  if (!(await confirm(ctx, `Are you sure you want to delete bucket '${ref.id}'?`, !!ctx.values.yes))) {
    ctx.out.log("Aborted.");
    return EXIT_FAILURE;
  }
  await deleteBucket(ref.id, { ...ctx.hub, missingOk: !!ctx.values["missing-ok"] });
  ctx.out.result("Bucket deleted", { bucket_id: ref.id });
  return EXIT_OK;
}

// ---------------------------------------------------------------------------------------------
// move
// ---------------------------------------------------------------------------------------------

const MOVE_USAGE = `Usage: xet-buckets move [OPTIONS] FROM_ID TO_ID

  Move (rename) a bucket to a new name or namespace.

Arguments:
  FROM_ID     Source bucket ID: namespace/bucket_name or hf://buckets/namespace/bucket_name
  TO_ID       Destination bucket ID: namespace/bucket_name or hf://buckets/namespace/bucket_name

Options:
  -h, --help  Show this message and exit.

${COMMON_HELP}

Examples
  $ xet-buckets move user/old-bucket user/new-bucket
  $ xet-buckets move user/my-bucket my-org/my-bucket`;

export async function runMove(argv: string[], io: CommandIo): Promise<number> {
  const ctx = setup(argv, { name: "move", usage: MOVE_USAGE, positionals: ["FROM_ID", "TO_ID"], options: [] }, io);
  if (!ctx) return EXIT_OK;
  const from = bucketArg(ctx.positionals[0]!, MOVE_USAGE, { allowPath: false, what: "FROM_ID" });
  const to = bucketArg(ctx.positionals[1]!, MOVE_USAGE, { allowPath: false, what: "TO_ID" });
  if (from.id === to.id) throw new UsageError(`FROM_ID and TO_ID are the same bucket (${from.id})`, MOVE_USAGE);
  await moveBucket(from.id, to.id, ctx.hub);
  ctx.out.result("Bucket moved", { from_id: from.id, to_id: to.id });
  return EXIT_OK;
}

// ---------------------------------------------------------------------------------------------
// settings
// ---------------------------------------------------------------------------------------------

const SETTINGS_USAGE = `Usage: xet-buckets settings [OPTIONS] BUCKET_ID

  Update bucket settings (visibility). Give exactly one of --private or --public.

Arguments:
  BUCKET_ID   Bucket ID: namespace/bucket_name or hf://buckets/namespace/bucket_name

Options:
  --private   Make the bucket private.
  --public    Make the bucket public.
  -h, --help  Show this message and exit.

${COMMON_HELP}

Examples
  $ xet-buckets settings user/my-bucket --private
  $ xet-buckets settings hf://buckets/user/my-bucket --public`;

export async function runSettings(argv: string[], io: CommandIo): Promise<number> {
  const ctx = setup(
    argv,
    {
      name: "settings",
      usage: SETTINGS_USAGE,
      positionals: ["BUCKET_ID"],
      options: [
        { name: "private", type: "boolean" },
        { name: "public", type: "boolean" },
      ],
    },
    io,
  );
  if (!ctx) return EXIT_OK;
  const priv = !!ctx.values.private;
  if (priv === !!ctx.values.public) throw new UsageError("specify exactly one of --private or --public", SETTINGS_USAGE);
  const ref = bucketArg(ctx.positionals[0]!, SETTINGS_USAGE, { allowPath: false });
  await updateBucketSettings(ref.id, { ...ctx.hub, private: priv });
  ctx.out.result("Bucket settings updated", { bucket_id: ref.id, private: priv });
  ctx.out.hint(`Run \`xet-buckets info ${ref.id}\` to view bucket details.`);
  return EXIT_OK;
}
