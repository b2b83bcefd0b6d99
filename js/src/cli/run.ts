/** The `xet-buckets` command: dispatch to subcommands. */
import { EXIT_FAILURE, EXIT_USAGE, UsageError, type CommandIo } from "./util.js";

const USAGE = `Usage: xet-buckets <command> [options]

Commands:
  hash FILE...        Xet file hash of local files (like sha256sum)
  serve               run a local hub (Hub bucket API + Xet CAS) on this machine

Run "xet-buckets <command> --help" for a command's options.`;

type Command = (argv: string[], io: CommandIo) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  hash: async () => (await import("./hash.js")).runHash,
  serve: async () => {
    const { runServe } = await import("../server/cli.js");
    return (argv) => runServe(argv);
  },
};

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    (name === undefined ? io.stderr : io.stdout).write(USAGE + "\n");
    return name === undefined ? EXIT_USAGE : 0;
  }
  const load = commands[name];
  if (!load) {
    io.stderr.write(`xet-buckets: unknown command "${name}"\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  try {
    return await (await load())(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`xet-buckets ${name}: ${err.message}\n${err.usage ? `\n${err.usage}\n` : ""}`);
      return EXIT_USAGE;
    }
    io.stderr.write(`xet-buckets ${name}: ${(err as Error)?.message ?? String(err)}\n`);
    return EXIT_FAILURE;
  }
}
