/**
 * What every network command shares: the common options (token, endpoint, output format), where the
 * token and the endpoint come from, the output sink, confirmations and bucket arguments.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { DEFAULT_HUB_URL, type HubCallOptions } from "../hub/context.js";
import { parseBucket, type BucketRef } from "../repo.js";
import { InvalidArgumentError } from "../errors.js";
import { parseCommand, type CommandSpec, type OptionSpec, type Parsed } from "./args.js";
import { Output, type OutputMode } from "./output.js";
import { progressEnabled } from "./progress.js";
import { UsageError, type CommandIo } from "./util.js";

/** Options of every Hub command. */
const COMMON_OPTIONS: OptionSpec[] = [
  { name: "token", type: "string" },
  { name: "endpoint", type: "string" },
  { name: "format", type: "string", choices: ["auto", "human", "agent", "json", "quiet"] },
  { name: "json", type: "boolean" },
  { name: "quiet", short: "q", type: "boolean" },
  { name: "no-truncate", type: "boolean" },
];

export const COMMON_HELP = `Common options:
  --token TOKEN          Hugging Face access token. Default: $HF_TOKEN, else the token file the hf
                         CLI writes ($HF_TOKEN_PATH, else $HF_HOME/token, else
                         ~/.cache/huggingface/token); anonymous when there is none.
  --endpoint URL         Hub URL. Default: $HF_ENDPOINT, else ${DEFAULT_HUB_URL}.
  --format FORMAT        auto|human|agent|json|quiet. auto (the default) is human.
  --json                 JSON output, same as --format json. Errors are then printed on stderr as
                         {"error": {"code": …, "message": …}}.
  -q, --quiet            Quiet output (ids or paths only, no progress), same as --format quiet.
  --no-truncate          Accepted for hf compatibility (tables are never truncated).`;

export interface Context {
  io: CommandIo;
  out: Output;
  /** Hub access for the client calls: hubUrl, accessToken, abortSignal. */
  hub: HubCallOptions;
  /** Show progress lines (stderr is a terminal, human or agent output). */
  progress: boolean;
  values: Parsed["values"];
  positionals: string[];
}

/** Where the token comes from: `--token` > `HF_TOKEN` > the token file. Undefined: anonymous. */
export function resolveToken(flag: string | undefined, env: Record<string, string | undefined>): string | undefined {
  if (flag !== undefined) {
    if (flag.trim() === "") throw new UsageError("--token is empty");
    return flag.trim();
  }
  if (env.HF_TOKEN && env.HF_TOKEN.trim()) return env.HF_TOKEN.trim();
  for (const file of tokenFiles(env)) {
    try {
      const t = readFileSync(file, "utf8").trim();
      if (t) return t;
    } catch {
      // no token file there
    }
    break; // only the first applicable location counts, like huggingface_hub
  }
  return undefined;
}

/** The token file huggingface_hub reads: $HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token. */
export function tokenFiles(env: Record<string, string | undefined>): string[] {
  if (env.HF_TOKEN_PATH) return [env.HF_TOKEN_PATH];
  if (env.HF_HOME) return [join(env.HF_HOME, "token")];
  const cache = env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache");
  return [join(cache, "huggingface", "token")];
}

/** `--resume-dir` > `XET_BUCKETS_RESUME_DIR` > none; relative paths against the command's directory. */
export function resumeDirOption(flag: unknown, io: CommandIo): string | undefined {
  const raw = typeof flag === "string" ? flag : io.env.XET_BUCKETS_RESUME_DIR?.trim() || undefined;
  if (raw === undefined) return undefined;
  if (raw === "") throw new UsageError("--resume-dir is empty");
  return resolvePath(io.cwd ?? process.cwd(), raw);
}

/** `--endpoint` > `HF_ENDPOINT` > https://huggingface.co. */
export function resolveEndpoint(flag: string | undefined, env: Record<string, string | undefined>): string {
  const raw = flag ?? (env.HF_ENDPOINT?.trim() || DEFAULT_HUB_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${flag !== undefined ? "--endpoint" : "HF_ENDPOINT"} must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${flag !== undefined ? "--endpoint" : "HF_ENDPOINT"} must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  return raw.replace(/\/+$/, "");
}

export function outputMode(values: Parsed["values"]): OutputMode {
  const f = values.format as string | undefined;
  const picks = [values.json ? "json" : undefined, values.quiet ? "quiet" : undefined, f && f !== "auto" ? f : undefined].filter(Boolean);
  if (new Set(picks).size > 1) throw new UsageError(`conflicting output formats: ${[...new Set(picks)].join(" and ")}`);
  return (picks[0] as OutputMode | undefined) ?? "human";
}

/**
 * Parses a Hub command's arguments (its own options plus the common ones) and builds its context. Returns
 * undefined after printing the help when `--help` was given.
 */
export function setup(argv: string[], spec: CommandSpec, io: CommandIo, opts: { helpShort?: boolean } = {}): Context | undefined {
  const full: CommandSpec = {
    ...spec,
    options: [...spec.options, ...COMMON_OPTIONS, { name: "help", short: opts.helpShort === false ? undefined : "h", type: "boolean" }],
  };
  const parsed = parseCommand(argv, full);
  if (parsed.values.help) {
    io.stdout.write(spec.usage + "\n");
    return undefined;
  }
  const usage = (e: unknown): never => {
    if (e instanceof UsageError) throw new UsageError(e.message, spec.usage);
    throw e;
  };
  let hubUrl: string;
  let accessToken: string | undefined;
  let mode: OutputMode;
  try {
    mode = outputMode(parsed.values);
    hubUrl = resolveEndpoint(parsed.values.endpoint as string | undefined, io.env);
    accessToken = resolveToken(parsed.values.token as string | undefined, io.env);
  } catch (e) {
    return usage(e);
  }
  return {
    io,
    out: new Output(mode, io),
    hub: { hubUrl, accessToken, abortSignal: io.signal },
    progress: progressEnabled(io, mode),
    values: parsed.values,
    positionals: parsed.positionals,
  };
}

/**
 * A bucket argument: `ns/name`, `hf://buckets/ns/name` or `buckets/ns/name`, with an optional path
 * (`ns/name/path`). `allowPath: false` refuses a path; `allowBareName` accepts `name` alone (namespace
 * `me`, for create).
 */
export function bucketArg(
  arg: string,
  usage: string,
  opts: { allowPath?: boolean; allowBareName?: boolean; what?: string } = {},
): BucketRef {
  const what = opts.what ?? "bucket";
  let uri: string;
  if (arg.startsWith("hf://")) {
    if (!arg.startsWith("hf://buckets/"))
      throw new UsageError(`${what} "${arg}" is not a bucket: expected hf://buckets/namespace/bucket_name`, usage);
    uri = arg;
  } else if (arg.startsWith("buckets/")) uri = `hf://${arg}`;
  else if (/^https?:\/\//.test(arg)) {
    const m = /^https?:\/\/[^/]+\/buckets\/(.+)$/.exec(arg);
    if (!m) throw new UsageError(`${what} "${arg}" is not a bucket URL`, usage);
    uri = `hf://buckets/${m[1]!.replace(/\/tree\/(?:main\/)?/, "/")}`;
  } else if (!arg.includes("/")) {
    if (opts.allowBareName) uri = `hf://buckets/me/${arg}`;
    else throw new UsageError(`invalid bucket ID "${arg}": expected namespace/bucket_name or hf://buckets/namespace/bucket_name`, usage);
  } else uri = `hf://buckets/${arg}`;
  let ref: BucketRef;
  try {
    ref = parseBucket(uri);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(err.message, usage);
    throw err;
  }
  if (opts.allowPath === false && ref.path) {
    throw new UsageError(
      `cannot specify a path inside the bucket here: "${arg}". Use namespace/bucket_name or hf://buckets/namespace/bucket_name`,
      usage,
    );
  }
  return ref;
}

/** True when a local path argument is really a bucket URI. */
export function isBucketUri(arg: string): boolean {
  return arg.startsWith("hf://");
}

/**
 * Asks "message [y/N]" on the terminal. Without a terminal (stdin not a TTY) and without -y, refuses with
 * a UsageError (exit 2) that says to pass -y.
 */
export async function confirm(ctx: Context, message: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!ctx.io.stdin.isTTY) {
    throw new UsageError(`${message} Refusing without confirmation: standard input is not a terminal. Pass -y/--yes to confirm.`);
  }
  ctx.io.stderr.write(`${message} [y/N]: `);
  const answer = await readLine(ctx.io.stdin);
  return /^y(es)?$/i.test(answer.trim());
}

async function readLine(stdin: AsyncIterable<Uint8Array>): Promise<string> {
  let text = "";
  const dec = new TextDecoder();
  const it = stdin[Symbol.asyncIterator]();
  try {
    for (;;) {
      const { done, value } = await it.next();
      if (done) break;
      text += dec.decode(value, { stream: true });
      const nl = text.indexOf("\n");
      if (nl >= 0) return text.slice(0, nl);
    }
    return text;
  } finally {
    await it.return?.();
  }
}
