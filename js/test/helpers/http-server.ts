/**
 * A plain local HTTP/1.1 server for tests of HTTP clients: listens on 127.0.0.1, counts the connections it
 * accepted (a client that keeps its connections opens few), and closes them all on `close()`.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface CountedServer {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  /** Connections accepted so far. */
  readonly opened: number;
  /** The connections open now. */
  connections: Set<Socket>;
  close(): Promise<void>;
}

export async function countedServer(handler: http.RequestListener): Promise<CountedServer> {
  const server = http.createServer(handler);
  const connections = new Set<Socket>();
  let opened = 0;
  server.on("connection", (s: Socket) => {
    opened++;
    connections.add(s);
    s.on("close", () => connections.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get opened() {
      return opened;
    },
    connections,
    async close() {
      for (const s of connections) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
