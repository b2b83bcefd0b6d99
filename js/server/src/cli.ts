/**
 * The hub's command line: `xet-buckets serve` (the client's CLI loads this module) and `xet-buckets-hub` (the hub
 * package's own bin, bin.ts) take the same options and run a local hub until SIGINT or SIGTERM.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { XetBucketsError } from "xet-buckets";
import { startLocalHub, type HubUser, type LocalHubOptions } from "./index.js";

/** The usage text of the command, named as it was run ("xet-buckets serve" or "xet-buckets-hub"). */
export function serveUsage(command = "xet-buckets serve"): string {
  return `Usage: ${command} [options]

Runs a local Hugging Face hub for Storage Buckets: the Hub bucket API and the Xet CAS on one port,
durable on disk. Point the official clients at it with HF_ENDPOINT=<the printed URL>.

Options:
  --data DIR              data directory (default: $XDG_DATA_HOME/xet-buckets/hub,
                          i.e. ~/.local/share/xet-buckets/hub)
  --host HOST             interface to listen on (default 127.0.0.1)
  --port N                port; 0 picks a free one (default 0)
  --user NAME=TOKEN       add a user with its write token (repeatable; tokens start with hf_).
                          Without --user, a user "local" is created once, its token stored in the
                          data directory and printed at start.
  --read-token NAME=TOKEN add a read-only token for user NAME (repeatable)
  --org ORG=USER[,USER]   make users members of organisation ORG (repeatable): they read and
                          write its buckets
  --org-private ORG       new buckets of organisation ORG (given with --org) are private unless
                          created with an explicit visibility (repeatable), as in Hub organisations
                          that make new repositories private by default
  --token-ttl SECONDS     lifetime of CAS tokens (default 3600)
  --public-url URL        URL clients use when the hub is behind a proxy (default: from the
                          request's Host header)
  --quiet                 do not log requests
  -h, --help              show this help

Once ready it prints "listening on http://HOST:PORT". Tokens and signed URLs are never logged.`;
}

function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(base, "xet-buckets", "hub");
}

/** Wrong usage of the command (exit code 2, with the usage text): code USAGE. */
class ServeUsageError extends XetBucketsError {
  override name = "ServeUsageError";
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** The options, for node:util's parseArgs (whose tokens are checked below, in order, with this command's messages). */
const OPTIONS = {
  help: { type: "boolean", short: "h" },
  data: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  user: { type: "string" },
  "read-token": { type: "string" },
  org: { type: "string" },
  "org-private": { type: "string" },
  "token-ttl": { type: "string" },
  "public-url": { type: "string" },
  quiet: { type: "boolean" },
} as const;

type OptionName = keyof typeof OPTIONS;

/** Parses `serve` arguments into hub options (exported for tests). */
export function parseServeArgs(argv: string[]): { options: LocalHubOptions; help: boolean } {
  const options: LocalHubOptions = { log: true };
  const users = new Map<string, HubUser>();
  const reads: Array<[string, string]> = [];
  const orgs: Array<[string, string[]]> = [];
  const privateOrgs: string[] = [];
  let help = false;
  const pair = (flag: string, v: string): [string, string] => {
    const i = v.indexOf("=");
    if (i <= 0 || i === v.length - 1) throw new ServeUsageError(`${flag} expects NAME=VALUE, got ${JSON.stringify(v)}`);
    return [v.slice(0, i), v.slice(i + 1)];
  };
  // Not strict: unknown options, missing values and positionals come back as tokens and are refused here, with
  // this command's messages (strict parseArgs would throw its own, which suggest `--` for positionals).
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === "positional") throw new ServeUsageError(`unknown option ${JSON.stringify(token.value)}`);
    if (token.kind === "option-terminator") throw new ServeUsageError('unknown option "--"');
    // A group of short options ("-hq") is named as written.
    const flag = token.rawName.startsWith("--") ? token.rawName : argv[token.index]!;
    if (!Object.hasOwn(OPTIONS, token.name)) throw new ServeUsageError(`unknown option ${JSON.stringify(flag)}`);
    const name = token.name as OptionName;
    if (OPTIONS[name].type === "boolean") {
      if (name === "help") help = true;
      else options.log = false; // --quiet
      continue;
    }
    const value = token.value;
    if (value === undefined) throw new ServeUsageError(`${flag} needs a value`);
    switch (name) {
      case "data":
        options.dataDir = value;
        break;
      case "host":
        options.host = value;
        break;
      case "port": {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n > 65535)
          throw new ServeUsageError(`--port expects a number from 0 to 65535, got ${JSON.stringify(value)}`);
        options.port = n;
        break;
      }
      case "user": {
        const [userName, userToken] = pair(flag, value);
        if (users.has(userName)) throw new ServeUsageError(`user ${userName} is given twice`);
        users.set(userName, { name: userName, token: userToken });
        break;
      }
      case "read-token":
        reads.push(pair(flag, value));
        break;
      case "org": {
        const [org, list] = pair(flag, value);
        orgs.push([org, list.split(",").filter(Boolean)]);
        break;
      }
      case "org-private":
        if (!privateOrgs.includes(value)) privateOrgs.push(value);
        break;
      case "token-ttl": {
        const v = Number(value);
        if (!Number.isFinite(v) || v <= 0) throw new ServeUsageError("--token-ttl expects a positive number of seconds");
        options.casTokenTtlSeconds = v;
        break;
      }
      case "public-url":
        options.publicUrl = value;
        break;
    }
  }
  for (const [name, token] of reads) {
    const u = users.get(name);
    if (!u) throw new ServeUsageError(`--read-token ${name}=…: no --user ${name}`);
    (u.readTokens ??= []).push(token);
  }
  for (const [org, members] of orgs) {
    for (const m of members) {
      const u = users.get(m);
      if (!u) throw new ServeUsageError(`--org ${org}=…: no --user ${m}`);
      (u.orgs ??= []).push(org);
    }
  }
  for (const org of privateOrgs) {
    if (!orgs.some(([name]) => name === org)) throw new ServeUsageError(`--org-private ${org}: no --org ${org}=USER[,USER]`);
  }
  if (privateOrgs.length > 0) options.orgsPrivateByDefault = privateOrgs;
  if (users.size > 0) options.users = [...users.values()];
  options.dataDir ??= defaultDataDir();
  return { options, help };
}

/**
 * Runs the command (`command` names it in messages and usage); resolves with the exit code once the hub is closed
 * by a signal: 0, 1 when the hub cannot start, 2 on a usage error.
 */
export async function runServe(argv: string[], command = "xet-buckets serve"): Promise<number> {
  let parsed;
  try {
    parsed = parseServeArgs(argv);
  } catch (err) {
    if (err instanceof ServeUsageError) {
      process.stderr.write(`${command}: ${err.message}\n\n${serveUsage(command)}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(`${serveUsage(command)}\n`);
    return 0;
  }
  let hub;
  try {
    hub = await startLocalHub(parsed.options);
  } catch (err) {
    process.stderr.write(`${command}: ${(err as Error)?.message ?? err}\n`);
    return 1;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`data directory: ${hub.dataDir}`);
  if (hub.devUser) {
    out(`no --user given: user "${hub.devUser.name}" with token ${hub.devUser.token} (kept in the data directory)`);
  } else {
    out(`users: ${hub.users.map((u) => u.name).join(", ")}`);
  }
  // Signal handlers first, so that a client reacting to the ready line can already stop the hub.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      process.stderr.write(`${signal}: closing the hub\n`);
      resolve();
    };
    const onInt = () => stop("SIGINT");
    const onTerm = () => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
  out(`listening on ${hub.url}`);
  await stopped;
  await hub.close();
  return 0;
}
