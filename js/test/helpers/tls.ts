/**
 * A self-signed certificate for 127.0.0.1 (P-256, valid until 2126), for tests of HTTPS clients against a local
 * server: made once with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
 * -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1`. Clients trust it through `ca`, or, where they take the
 * runtime's trust store (the Node light client), through `trustingAnyCertificate`.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
export const TEST_TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIURwm5UVH0N2vb3HOyk6poSHMPGEowCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwNjA5MDIyOVoYDzIxMjYxMTEy
MDkwMjI5WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARLp4giaC2OGzGDle6EWwkDW6G6AuqA+9R6W0ucy3deLcub3l0w117e
K9PUWRgdPXyxMc4AFSBtNl/oKYHgFLXTo2QwYjAdBgNVHQ4EFgQUP9zwPFvMvvIn
2JVBDpWtlzWunlYwHwYDVR0jBBgwFoAUP9zwPFvMvvIn2JVBDpWtlzWunlYwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
IQClfnCLRdbyoP+8Yq2AkxW17jzLg7F3QQAHVoCFYNvhHQIgTfX4ZEU+kpQc0nbK
U7fPtdx+yZ+0kUG/5f3uqXoBnOU=
-----END CERTIFICATE-----
`;

export const TEST_TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGhMWRqNxBwDLmefs
0OxlaHVcbEM3HFsHJCkYoc9txwyhRANCAARLp4giaC2OGzGDle6EWwkDW6G6AuqA
+9R6W0ucy3deLcub3l0w117eK9PUWRgdPXyxMc4AFSBtNl/oKYHgFLXT
-----END PRIVATE KEY-----
`;

/**
 * An HTTPS server on 127.0.0.1 with the test certificate: its URL (`https://127.0.0.1:<port>/`), the TLS
 * connections it accepted so far, and `close()`.
 */
export async function tlsServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ base: string; connections(): number; close(): Promise<void> }> {
  const server = https.createServer({ cert: TEST_TLS_CERT, key: TEST_TLS_KEY }, handler);
  let connections = 0;
  server.on("secureConnection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    base: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    connections: () => connections,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Runs `fn` with this process accepting any server certificate (NODE_TLS_REJECT_UNAUTHORIZED=0, restored after):
 * for clients that take the runtime's trust store, in a test file's own process only.
 */
export async function trustingAnyCertificate<T>(fn: () => Promise<T>): Promise<T> {
  const was = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
  try {
    return await fn();
  } finally {
    if (was === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = was;
  }
}
