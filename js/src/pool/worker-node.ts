/**
 * The chunking worker in Node (`worker_threads`, started by platform/node.ts from the bundle of this file):
 * answers on its parent port, and reads and writes local files itself (file descriptors, positional reads and
 * writes).
 */
import * as fs from "node:fs";
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { chunkingWorker } from "./worker.js";

const port = parentPort;
if (!port) throw new Error("the chunking worker runs in a worker thread");

const handle = chunkingWorker({
  post: (msg, transfer) => port.postMessage(msg, transfer as never),
  files: {
    open: (path) => openSync(path, "r"),
    size: (fd) => fstatSync(fd).size,
    read: (fd, into, position) => readSync(fd, into, 0, into.length, position),
    close: (fd) => closeSync(fd),
  },
  writes: {
    openWrite: (path) => openSync(path, "r+"),
    // One vectored write where the runtime has it (Node); the first buffer otherwise (a short write: the
    // caller continues).
    writev: (fd, buffers, position) =>
      typeof fs.writevSync === "function"
        ? fs.writevSync(fd, buffers, position)
        : writeSync(fd, buffers[0]!, 0, buffers[0]!.length, position),
    close: (fd) => closeSync(fd),
  },
});
port.on("message", handle);
