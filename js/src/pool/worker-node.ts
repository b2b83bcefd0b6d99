/**
 * The chunking worker in Node (`worker_threads`, started by platform/node.ts from the bundle of this file):
 * answers on its parent port, and reads local files itself (file descriptors, positional reads).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
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
});
port.on("message", handle);
