/** `xet-buckets serve`: runs a local hub until SIGINT or SIGTERM. */
import { homedir } from "node:os";
import { join } from "node:path";
import { startLocalHub, type HubUser, type LocalHubOptions } from "./index.js";

export const SERVE_USAGE = `Usage: xet-buckets serve [options]

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
  --token-ttl SECONDS     lifetime of CAS tokens (default 3600)
  --public-url URL        URL clients use when the hub is behind a proxy (default: from the
                          request's Host header)
  --quiet                 do not log requests
  -h, --help              show this help

Once ready it prints "listening on http://HOST:PORT". Tokens and signed URLs are never logged.`;

function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(base, "xet-buckets", "hub");
}

class ServeUsageError extends Error {}

/** Parses `serve` arguments into hub options (exported for tests). */
export function parseServeArgs(argv: string[]): { options: LocalHubOptions; help: boolean } {
  const options: LocalHubOptions = { log: true };
  const users = new Map<string, HubUser>();
  const reads: Array<[string, string]> = [];
  const orgs: Array<[string, string[]]> = [];
  let help = false;
  const pair = (flag: string, v: string): [string, string] => {
    const i = v.indexOf("=");
    if (i <= 0 || i === v.length - 1) throw new ServeUsageError(`${flag} expects NAME=VALUE, got ${JSON.stringify(v)}`);
    return [v.slice(0, i), v.slice(i + 1)];
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let value: string | undefined;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    if (eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new ServeUsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case "-h":
      case "--help":
        help = true;
        break;
      case "--data":
        options.dataDir = next();
        break;
      case "--host":
        options.host = next();
        break;
      case "--port": {
        const v = next();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n > 65535) throw new ServeUsageError(`--port expects a number from 0 to 65535, got ${JSON.stringify(v)}`);
        options.port = n;
        break;
      }
      case "--user": {
        const [name, token] = pair(arg, next());
        if (users.has(name)) throw new ServeUsageError(`user ${name} is given twice`);
        users.set(name, { name, token });
        break;
      }
      case "--read-token":
        reads.push(pair(arg, next()));
        break;
      case "--org": {
        const [org, list] = pair(arg, next());
        orgs.push([org, list.split(",").filter(Boolean)]);
        break;
      }
      case "--token-ttl": {
        const v = Number(next());
        if (!Number.isFinite(v) || v <= 0) throw new ServeUsageError("--token-ttl expects a positive number of seconds");
        options.casTokenTtlSeconds = v;
        break;
      }
      case "--public-url":
        options.publicUrl = next();
        break;
      case "--quiet":
        options.log = false;
        break;
      default:
        throw new ServeUsageError(`unknown option ${JSON.stringify(arg)}`);
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
  if (users.size > 0) options.users = [...users.values()];
  options.dataDir ??= defaultDataDir();
  return { options, help };
}

/** Runs the `serve` command; resolves with the exit code once the hub is closed by a signal. */
export async function runServe(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseServeArgs(argv);
  } catch (err) {
    if (err instanceof ServeUsageError) {
      process.stderr.write(`xet-buckets serve: ${err.message}\n\n${SERVE_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  let hub;
  try {
    hub = await startLocalHub(parsed.options);
  } catch (err) {
    process.stderr.write(`xet-buckets serve: ${(err as Error)?.message ?? err}\n`);
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
