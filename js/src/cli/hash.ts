/** `xet-buckets hash FILE...`: prints `<xet hash>  <path>` per file, like sha256sum (`-` reads stdin). */
import { parseArgs } from "node:util";
import { xetHash } from "../hash.js";
import { UsageError, type CommandIo } from "./util.js";

export const HASH_USAGE = `Usage: xet-buckets hash [--json] FILE...

Prints the Xet file hash (the bucket's xetHash, hf_xet's hash_files) of each FILE, one line
"<hash>  <path>" per file, like sha256sum. "-" reads standard input.

Options:
  --json     one JSON object per line: {"path": ..., "xetHash": ..., "size": ...}
  -h, --help show this help`;

export async function runHash(argv: string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
  } catch (err) {
    throw new UsageError((err as Error).message, HASH_USAGE);
  }
  if (parsed.values.help) {
    io.stdout.write(HASH_USAGE + "\n");
    return 0;
  }
  if (parsed.positionals.length === 0) throw new UsageError("hash needs at least one FILE (or - for stdin)", HASH_USAGE);
  let failures = 0;
  for (const path of parsed.positionals) {
    try {
      let size = 0;
      const counting = async function* (src: AsyncIterable<Uint8Array>) {
        for await (const b of src) {
          size += b.length;
          yield b;
        }
      };
      const source = path === "-" ? counting(io.stdin) : counting(readPath(path));
      const hash = await xetHash(source);
      io.stdout.write(parsed.values.json ? JSON.stringify({ path, xetHash: hash, size }) + "\n" : `${hash}  ${path}\n`);
    } catch (err) {
      failures++;
      io.stderr.write(`xet-buckets hash: ${(err as Error).message}\n`);
    }
  }
  return failures ? 1 : 0;
}

async function* readPath(path: string): AsyncGenerator<Uint8Array> {
  const { readFileBlocks } = await import("../node/files.js");
  yield* readFileBlocks(path, 8 * 1024 * 1024);
}
