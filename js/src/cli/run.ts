/** The `xet-buckets` command: dispatch to subcommands, and turn errors into messages and exit codes. */
import { InvalidArgumentError, TransferError, XetBucketsError } from "../errors.js";
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, UsageError, type CommandIo } from "./util.js";

export const USAGE = `Usage: xet-buckets <command> [options]

  Hugging Face Storage Buckets from the command line, with client-side Xet deduplication. The
  commands and options are those of \`hf buckets\`.

Commands:
  create BUCKET_ID         Create a new bucket.
  list | ls [ARGUMENT]     List buckets, or files in a bucket.
  info BUCKET_ID           Get info about a bucket.
  delete BUCKET_ID         Delete a bucket.
  move FROM_ID TO_ID       Move (rename) a bucket to a new name or namespace.
  settings BUCKET_ID       Update bucket settings (visibility).
  cp SRC [DST]             Copy files between local paths, stdin/stdout and buckets.
  remove | rm ARGUMENT     Remove files from a bucket.
  sync [SOURCE] [DEST]     Sync files between a local directory and a bucket.
  hash FILE...             Xet file hash of local files (like sha256sum).
  serve                    Run a local hub (Hub bucket API + Xet CAS; package xet-buckets-hub).

Authentication: --token, else $HF_TOKEN, else the token file of the hf CLI ($HF_TOKEN_PATH, else
$HF_HOME/token, else ~/.cache/huggingface/token). Endpoint: --endpoint, else $HF_ENDPOINT, else
https://huggingface.co.

Exit codes: 0 success, 1 failure, 2 wrong usage, 130 interrupted.

Run "xet-buckets <command> --help" for a command's options.`;

type Command = (argv: string[], io: CommandIo) => Promise<number>;

const ALIASES: Record<string, string> = { ls: "list", remove: "rm" };

const commands: Record<string, () => Promise<Command>> = {
  create: async () => (await import("./buckets.js")).runCreate,
  list: async () => (await import("./buckets.js")).runList,
  info: async () => (await import("./buckets.js")).runInfo,
  delete: async () => (await import("./buckets.js")).runDelete,
  move: async () => (await import("./buckets.js")).runMove,
  settings: async () => (await import("./buckets.js")).runSettings,
  cp: async () => (await import("./cp.js")).runCp,
  rm: async () => (await import("./rm.js")).runRm,
  sync: async () => (await import("./sync.js")).runSync,
  hash: async () => (await import("./hash.js")).runHash,
  serve: async () => {
    const { runServe } = await loadHub();
    return (argv) => runServe(argv);
  },
};

/** What `serve` needs of the local hub's command module (`xet-buckets-hub/cli`). */
interface HubCli {
  runServe(argv: string[]): Promise<number>;
}

/**
 * The local hub is its own package (xet-buckets-hub): it needs SQLite, which the client never does. `serve` runs
 * the hub's build beside this CLI (this repository's dist/server/), else the xet-buckets-hub package installed
 * with the client, else it fails with HUB_NOT_INSTALLED (exit code 1) saying what to install. The specifiers are
 * computed so that neither tsc nor a bundler pulls the hub into the client.
 */
async function loadHub(): Promise<HubCli> {
  const beside = new URL("../server/cli.js", import.meta.url);
  const { existsSync } = await import("node:fs");
  const { fileURLToPath } = await import("node:url");
  if (existsSync(fileURLToPath(beside))) return (await import(beside.href)) as HubCli;
  const hubPackage = ["xet-buckets-hub", "cli"].join("/");
  try {
    return (await import(hubPackage)) as HubCli;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e?.code !== "ERR_MODULE_NOT_FOUND" || !e.message?.includes("'xet-buckets-hub'")) throw err;
    throw new XetBucketsError(
      "HUB_NOT_INSTALLED",
      "the local hub is a separate package: install it next to xet-buckets (`npm install xet-buckets-hub`), " +
        "then run `npx xet-buckets serve` or `npx xet-buckets-hub`",
      { cause: err },
    );
  }
}

/** Commands that handle SIGINT / SIGTERM themselves (the others are aborted through `io.signal`). */
export const OWN_SIGNALS = new Set(["serve"]);

/** The command a command line runs ("ls" → "list"; a leading "buckets" is skipped, as in `hf buckets …`). */
export function commandName(argv: string[]): string | undefined {
  const name = argv[0] === "buckets" ? argv[1] : argv[0];
  return name === undefined ? undefined : (ALIASES[name] ?? name);
}

function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf("--");
  const args = end >= 0 ? argv.slice(0, end) : argv;
  return args.some((a, i) => a === "--json" || a === "--format=json" || (a === "--format" && args[i + 1] === "json"));
}

function errorJson(err: unknown): Record<string, unknown> {
  const e = err as XetBucketsError & { statusCode?: number; failures?: unknown; requestId?: string; serverCode?: string };
  const o: Record<string, unknown> = { code: typeof e?.code === "string" ? e.code : "ERROR", message: e?.message ?? String(err) };
  if (typeof e?.statusCode === "number") o.statusCode = e.statusCode;
  if (e?.serverCode) o.serverCode = e.serverCode;
  if (e?.requestId) o.requestId = e.requestId;
  // A TransferError's failures carry their error objects (`cause`): the JSON gets the fields that serialize.
  if (Array.isArray(e?.failures))
    o.failures = (e.failures as Record<string, unknown>[]).map(({ path, localPath, code, error }) => ({ path, localPath, code, error }));
  return o;
}

/** The "Usage:" lines of a command's help (what click prints on a usage error). */
export function shortUsage(usage: string): string {
  const lines = usage.split("\n");
  const out: string[] = [];
  for (const l of lines) {
    if (out.length === 0 ? l.startsWith("Usage:") : /^\s+xet-buckets /.test(l)) out.push(l);
    else if (out.length) break;
  }
  return (out.length ? out : lines.slice(0, 1)).join("\n");
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  if (argv[0] === "buckets") argv = argv.slice(1);
  const [given, ...rest] = argv;
  if (given === undefined || given === "-h" || given === "--help" || given === "help") {
    (given === undefined ? io.stderr : io.stdout).write(USAGE + "\n");
    return given === undefined ? EXIT_USAGE : 0;
  }
  if (given === "--version" || given === "-V") {
    const { createRequire } = await import("node:module");
    const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };
    io.stdout.write(`xet-buckets ${pkg.version}\n`);
    return 0;
  }
  const name = ALIASES[given] ?? given;
  const load = commands[name];
  if (!load) {
    io.stderr.write(`xet-buckets: unknown command "${given}"\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  const json = wantsJson(rest);
  try {
    return await (
      await load()
    )(rest, io);
  } catch (err) {
    if (io.signal?.aborted) {
      io.stderr.write(`\nxet-buckets ${given}: interrupted\n`);
      return EXIT_INTERRUPTED;
    }
    if (err instanceof UsageError || err instanceof InvalidArgumentError) {
      if (json) io.stderr.write(JSON.stringify({ error: errorJson(err) }) + "\n");
      else if (err instanceof UsageError && err.usage)
        io.stderr.write(
          `xet-buckets ${given}: ${err.message}\n\n${shortUsage(err.usage)}\nRun "xet-buckets ${given} --help" for the options.\n`,
        );
      else io.stderr.write(`xet-buckets ${given}: ${err.message}\nRun "xet-buckets ${given} --help" for usage.\n`);
      return EXIT_USAGE;
    }
    if (json) {
      io.stderr.write(JSON.stringify({ error: errorJson(err) }) + "\n");
    } else {
      const code = (err as XetBucketsError)?.code;
      const failures = (err as { failures?: { path: string; error: string }[] }).failures;
      let msg = (err as Error)?.message ?? String(err);
      // A TransferError's message lists its failed files already.
      if (Array.isArray(failures) && failures.length && !(err instanceof TransferError)) {
        msg = `${failures.length} operation(s) failed (the others were applied):\n${failures.map((f) => `  ${f.path}: ${f.error}`).join("\n")}`;
      }
      io.stderr.write(`xet-buckets ${given}: ${msg}${typeof code === "string" ? ` [${code}]` : ""}\n`);
    }
    return EXIT_FAILURE;
  }
}
