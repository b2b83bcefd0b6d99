/** `xet-buckets hash FILE...`: prints `<xet hash>  <path>` per file, like sha256sum (`-` reads stdin). */
import { parseArgs } from "node:util";
import { xetHash, xetHashFiles } from "../hash.js";
import { readFileBlocks } from "../platform/node/files.js";
import { UsageError, type CommandIo } from "./util.js";

const HASH_USAGE = `Usage: xet-buckets hash [--json] FILE...

Prints the Xet file hash (the bucket's xetHash, hf_xet's hash_files) of each FILE, one line
"<hash>  <path>" per file, like sha256sum. "-" reads standard input.

Options:
  --json     one JSON object per line: {"path": ..., "xetHash": ..., "size": ...}
  -h, --help show this help`;

export async function runHash(argv: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message, HASH_USAGE);
  }
  if (parsed.values.help) {
    io.stdout.write(HASH_USAGE + "\n");
    return 0;
  }
  if (parsed.positionals.length === 0) throw new UsageError("hash needs at least one FILE (or - for stdin)", HASH_USAGE);
  // Files are hashed together on every core (xetHashFiles); "-" (stdin) where it stands. When that fails
  // (a missing or unreadable file), each file is hashed on its own so that every error names its file.
  const names = parsed.positionals;
  const results = new Map<number, { hash: string; size: number } | Error>();
  const files = names.flatMap((p, i) => (p === "-" ? [] : [i]));
  if (files.length > 0) {
    try {
      const got = await xetHashFiles(files.map((i) => names[i]!));
      files.forEach((i, k) => results.set(i, { hash: got[k]!.xetHash, size: got[k]!.size }));
    } catch {
      results.clear();
    }
  }
  let failures = 0;
  for (let i = 0; i < names.length; i++) {
    const path = names[i]!;
    let r = results.get(i);
    if (!r) {
      try {
        let size = 0;
        const counting = async function* (src: AsyncIterable<Uint8Array>) {
          for await (const b of src) {
            size += b.length;
            yield b;
          }
        };
        const hash = await xetHash(path === "-" ? counting(io.stdin) : counting(readPath(path)));
        r = { hash, size };
      } catch (err) {
        r = err as Error;
      }
    }
    if (r instanceof Error) {
      failures++;
      io.stderr.write(`xet-buckets hash: ${r.message}\n`);
    } else {
      io.stdout.write(parsed.values.json ? JSON.stringify({ path, xetHash: r.hash, size: r.size }) + "\n" : `${r.hash}  ${path}\n`);
    }
  }
  return failures ? 1 : 0;
}

function readPath(path: string): AsyncGenerator<Uint8Array> {
  return readFileBlocks(path, 8 * 1024 * 1024);
}
