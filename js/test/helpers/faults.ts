/**
 * Fault-injection proxy for tests: a loopback HTTP proxy in front of a local hub that injects failures
 * by rule and counts what it did.
 *
 *   const proxy = await startFaultProxy(hub.url);
 *   const r = proxy.add({ path: "/v1/xorbs/", method: "POST", action: "status", status: 503, retryAfter: 1, times: 2 });
 *   await uploadFiles({ repo, files, hubUrl: proxy.url, ... });   // point the client at proxy.url
 *   assert.equal(r.injected, 2);
 *   await proxy.close();
 *
 * Every request reaching the proxy is forwarded to the target unchanged, `Host` included, so a hub that
 * derives its absolute URLs (casUrl, fetch URLs, Link headers) from `Host` sends all later traffic back
 * through the proxy. Absolute URLs naming the target's origin in answers (headers and JSON/text bodies
 * up to 4 MiB) are rewritten to the proxy's origin as well, so CAS and fetch-URL traffic is covered even
 * when the target prints its own origin.
 *
 * Rules are tried in the order added; the first rule that matches and still has budget decides. Actions:
 *
 * | action        | effect                                                                                       |
 * |---------------|----------------------------------------------------------------------------------------------|
 * | `reset`       | the connection is destroyed before the request is forwarded (the server never sees it)       |
 * | `reset-after` | forwarded; the server answers; the client connection is destroyed instead of the answer      |
 * | `status`      | answered by the proxy with `status` (default 503), `Retry-After` if `retryAfter` is set      |
 * | `delay`       | forwarded after `delayMs`, or once `until(path, method)` resolves (a test's own gate)        |
 * | `truncate`    | forwarded; the answer's headers and only `keepBytes` (default half) of its body, then cut    |
 * | `corrupt`     | forwarded; one byte of the answer's body (at `offset`, default the middle) is flipped        |
 * | `wrong-length`| forwarded; the answer's `Content-Length` is off by `lengthDelta` (default +100): more bytes   |
 * |               | announced than sent (the connection then closes), or fewer (the rest is cut off)             |
 * | `corrupt-request` | the request body has one byte flipped (at `offset`, default the middle) on its way in   |
 * | `stall`       | the connection stays open and goes silent (`stallAt`): `body` (default) forwards, then sends |
 * |               | the answer's headers and `keepBytes` (default half) of its body, and nothing more; `headers` |
 * |               | forwards and never answers; `request` stops reading the request body after `keepBytes`     |
 * |               | (default 64 KiB) and never forwards it. Held until the client gives up or the proxy closes |
 * | `hook`        | forwarded after `hook()` ran (e.g. the test hub's clock jumping past its tokens' lifetime)   |
 * | `rewrite`     | forwarded; `rewrite(answer)` returns the answer to send instead (status, headers, body): a   |
 * |               | hostile peer built on the real hub's answers                                                 |
 *
 * Matching: `method` (case-insensitive), `path` (a substring of path + query, a RegExp, or a predicate),
 * `skip` (let the first n matching requests through), `times` (inject at most n times), `probability`
 * (inject on that share of the remaining matches, from a seeded PRNG so runs are reproducible).
 *
 * For fault rates over every request, `decide` (an option of the proxy) is asked about each request no rule
 * took, and returns the fault to inject, if any (e.g. a fifth of the requests, each with a fault of a kind that
 * applies to it). `label` names a fault in the log (`counts().byLabel`).
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type FaultAction =
  "reset" | "reset-after" | "status" | "delay" | "truncate" | "corrupt" | "wrong-length" | "corrupt-request" | "rewrite" | "stall" | "hook";

/** An answer as the `rewrite` action sees and returns it (headers lower-case). */
export interface ProxyAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The request's path and query. */
  path: string;
}

export interface FaultRule {
  action: FaultAction;
  /** A name for the fault in the log and `counts().byLabel` (default the action). */
  label?: string;
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Substring of path + query, RegExp, or predicate (any when absent). */
  path?: string | RegExp | ((pathAndQuery: string, method: string) => boolean);
  /** `status`: the status to answer (default 503). */
  status?: number;
  /** `status`: Retry-After value in seconds. */
  retryAfter?: number;
  /** `status`: body (default a JSON `{"error": "injected <status>"}`). */
  body?: string;
  /** `delay`: milliseconds to wait before forwarding. */
  delayMs?: number;
  /** `delay`: forward once this resolves (or rejects), instead of after `delayMs`. */
  until?: (pathAndQuery: string, method: string) => Promise<unknown>;
  /**
   * `truncate`, `stall` (`body`): answer body bytes delivered before the cut or the silence (default half of the
   * body); `stall` (`request`): request body bytes read before the proxy stops reading (default 64 KiB).
   */
  keepBytes?: number;
  /** `stall`: where the connection goes silent (default `body`). */
  stallAt?: "request" | "headers" | "body";
  /** `hook`: runs before the request is forwarded. */
  hook?: () => void | Promise<void>;
  /** `corrupt`, `corrupt-request`: offset of the flipped body byte, or a function of the body's length (default the middle). */
  offset?: number | ((length: number) => number);
  /** `wrong-length`: declared minus actual body length (default +100; negative announces fewer bytes). */
  lengthDelta?: number;
  /** `rewrite`: the answer to send instead of the target's (Content-Length is set from the new body). */
  rewrite?: (answer: ProxyAnswer) => { status?: number; headers?: Record<string, string>; body: Buffer | Uint8Array | string };
  /** Let this many matching requests through first (default 0). */
  skip?: number;
  /** Inject at most this many times (default unlimited). */
  times?: number;
  /** Share of matching requests to inject on, 0..1 (default 1). */
  probability?: number;
}

/** A rule as added, with its counters. */
export interface RuleHandle extends Readonly<FaultRule> {
  /** Requests that matched method and path. */
  readonly matched: number;
  /** Faults injected. */
  readonly injected: number;
  /** Stop injecting (the rule stays in the list with its counters). */
  disable(): void;
}

export interface ProxyLogEntry {
  method: string;
  path: string;
  /** The action injected, if any. */
  fault?: FaultAction;
  /** Its label (the action when the rule has none). */
  label?: string;
  /** Status returned to the client (undefined when the connection was cut before an answer). */
  status?: number;
}

export interface FaultProxy {
  /** The proxy's origin, e.g. http://127.0.0.1:41234 — use it as `hubUrl`. */
  readonly url: string;
  readonly target: string;
  add(rule: FaultRule): RuleHandle;
  /** Removes every rule (counters of the returned handles stay readable). */
  clear(): void;
  /** Every request seen, in order. */
  readonly log: ProxyLogEntry[];
  /** Totals: requests seen and faults injected, by action. */
  counts(): {
    requests: number;
    injected: number;
    byAction: Partial<Record<FaultAction, number>>;
    byLabel: Record<string, number>;
  };
  close(): Promise<void>;
}

interface RuleState {
  rule: FaultRule;
  matched: number;
  injected: number;
  disabled: boolean;
}

const REWRITE_LIMIT = 4 * 1024 * 1024;

/** The offset of the byte a `corrupt` rule flips in a body of `length` bytes. */
function offsetIn(rule: FaultRule, length: number): number {
  const o = rule.offset;
  return Math.max(0, Math.floor(typeof o === "function" ? o(length) : (o ?? length >> 1)));
}

export interface FaultProxyOptions {
  /** Seed of the PRNG behind `probability` (default 12345). */
  seed?: number;
  /** Rewrite the target's origin in answers (default true). */
  rewrite?: boolean;
  /** Asked about every request no rule took: the fault to inject, if any. */
  decide?: (method: string, pathAndQuery: string) => FaultRule | undefined;
}

export async function startFaultProxy(target: string, opts: FaultProxyOptions = {}): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const targetOrigin = targetUrl.origin;
  const rewrite = opts.rewrite ?? true;
  let seed = (opts.seed ?? 12345) >>> 0 || 1;
  const random = () => {
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed / 2 ** 32;
  };
  const rules: RuleState[] = [];
  const log: ProxyLogEntry[] = [];
  const sockets = new Set<Socket>();
  const agent = new http.Agent({ keepAlive: true });
  let origin = "";

  const pick = (method: string, path: string): RuleState | undefined => {
    for (const st of rules) {
      const r = st.rule;
      if (st.disabled) continue;
      if (r.method && r.method.toUpperCase() !== method) continue;
      if (r.path !== undefined) {
        const ok = typeof r.path === "string" ? path.includes(r.path) : r.path instanceof RegExp ? r.path.test(path) : r.path(path, method);
        if (!ok) continue;
      }
      st.matched++;
      if (st.matched <= (r.skip ?? 0)) continue;
      if (r.times !== undefined && st.injected >= r.times) continue;
      if (r.probability !== undefined && random() >= r.probability) continue;
      st.injected++;
      return st;
    }
    const decided = opts.decide?.(method, path);
    return decided ? { rule: decided, matched: 1, injected: 1, disabled: false } : undefined;
  };

  const rewriteText = (s: string) => (rewrite ? s.split(targetOrigin).join(origin) : s);

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = (req.method ?? "GET").toUpperCase();
    const path = req.url ?? "/";
    const entry: ProxyLogEntry = { method, path };
    log.push(entry);
    const st = pick(method, path);
    const rule = st?.rule;
    if (rule) {
      entry.fault = rule.action;
      entry.label = rule.label ?? rule.action;
    }
    res.on("finish", () => (entry.status = res.statusCode));

    if (rule?.action === "reset") {
      req.socket.destroy();
      return;
    }
    if (rule?.action === "status") {
      const status = rule.status ?? 503;
      req.resume();
      req.on("end", () => {
        const body = rule.body ?? JSON.stringify({ error: `injected ${status}` });
        const headers: Record<string, string> = { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)) };
        if (rule.retryAfter !== undefined) headers["Retry-After"] = String(rule.retryAfter);
        // Like the hub's own answers, readable by a page on another origin (browser tests).
        if (typeof req.headers.origin === "string") {
          headers["Access-Control-Allow-Origin"] = req.headers.origin;
          headers["Access-Control-Expose-Headers"] = "Retry-After, X-Request-Id, X-Error-Code";
        }
        res.writeHead(status, headers);
        res.end(body);
      });
      return;
    }
    if (rule?.action === "stall" && rule.stallAt === "request") {
      // Reads the first bytes of the body, then nothing: the client's writes block once the socket buffers fill.
      const keep = rule.keepBytes ?? 64 * 1024;
      let got = 0;
      req.on("data", (d: Buffer) => {
        got += d.length;
        if (got >= keep) req.pause();
      });
      return;
    }
    const forward = () => {
      const up = http.request(
        {
          host: targetUrl.hostname,
          port: targetUrl.port,
          method,
          path,
          headers: req.headers,
          agent,
        },
        (upRes) => onUpstream(upRes),
      );
      up.on("error", () => req.socket.destroy());
      if (rule?.action === "corrupt-request") {
        const parts: Buffer[] = [];
        req.on("data", (d: Buffer) => parts.push(d));
        req.on("end", () => {
          const body = Buffer.concat(parts);
          if (body.length > 0) {
            const at = Math.min(body.length - 1, offsetIn(rule, body.length));
            body[at] = body[at]! ^ 0xff;
          }
          up.end(body);
        });
        return;
      }
      req.pipe(up);
    };
    const onUpstream = (upRes: IncomingMessage) => {
      const status = upRes.statusCode ?? 502;
      const headers = { ...upRes.headers };
      for (const h of ["link", "location", "x-xet-cas-url"]) {
        const v = headers[h];
        if (typeof v === "string") headers[h] = rewriteText(v);
      }
      const ctype = String(headers["content-type"] ?? "");
      const len = Number(headers["content-length"] ?? NaN);
      const textual = /json|text\/plain/.test(ctype) && !/ndjson/.test(ctype);
      const mustBuffer =
        rule?.action === "stall" ||
        rule?.action === "reset-after" ||
        rule?.action === "truncate" ||
        rule?.action === "corrupt" ||
        rule?.action === "wrong-length" ||
        rule?.action === "rewrite" ||
        (rewrite && textual && Number.isFinite(len) && len <= REWRITE_LIMIT);
      if (!mustBuffer) {
        res.writeHead(status, headers);
        upRes.pipe(res);
        return;
      }
      const parts: Buffer[] = [];
      upRes.on("data", (d: Buffer) => parts.push(d));
      upRes.on("error", () => req.socket.destroy());
      upRes.on("end", () => {
        let body = Buffer.concat(parts);
        if (rewrite && textual) body = Buffer.from(rewriteText(body.toString("utf8")));
        if (headers["content-length"] !== undefined) headers["content-length"] = String(body.length);
        if (rule?.action === "reset-after") {
          req.socket.destroy();
          return;
        }
        if (rule?.action === "stall") {
          // Silent from here on, the connection open (the client must notice on its own).
          // An empty body cannot go silent half way: the answer is withheld instead.
          if (rule.stallAt === "headers" || body.length === 0) return;
          delete headers["transfer-encoding"];
          headers["content-length"] = String(body.length);
          res.writeHead(status, headers);
          res.write(body.subarray(0, Math.max(0, Math.min(body.length - 1, rule.keepBytes ?? body.length >> 1))));
          return;
        }
        if (rule?.action === "corrupt" && body.length > 0) {
          const at = Math.min(body.length - 1, offsetIn(rule, body.length));
          body[at] = body[at]! ^ 0xff;
        }
        if (rule?.action === "rewrite" && rule.rewrite) {
          const flat: Record<string, string> = {};
          for (const [k, v] of Object.entries(headers))
            if (v !== undefined) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : String(v);
          const out = rule.rewrite({ status, headers: flat, body, path });
          const outBody = typeof out.body === "string" ? Buffer.from(out.body) : Buffer.from(out.body);
          const outHeaders: Record<string, string> = { ...(out.headers ?? flat) };
          delete outHeaders["transfer-encoding"];
          outHeaders["content-length"] = String(outBody.length);
          res.writeHead(out.status ?? status, outHeaders);
          res.end(outBody);
          return;
        }
        if (rule?.action === "wrong-length") {
          // Written raw on the socket: Node's response object refuses a body that contradicts its length.
          const delta = rule.lengthDelta ?? 100;
          const declared = Math.max(0, body.length + delta);
          const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ""}`];
          for (const [k, v] of Object.entries(headers)) {
            if (v === undefined || /^(content-length|transfer-encoding|connection|keep-alive)$/i.test(k)) continue;
            for (const one of Array.isArray(v) ? v : [String(v)]) lines.push(`${k}: ${one}`);
          }
          lines.push(`content-length: ${declared}`, "connection: close", "", "");
          entry.status = status;
          const sock = req.socket;
          sock.write(lines.join("\r\n"));
          sock.end(delta < 0 ? body.subarray(0, declared) : body);
          return;
        }
        if (rule?.action === "truncate") {
          delete headers["transfer-encoding"];
          headers["content-length"] = String(body.length);
          res.writeHead(status, headers);
          const keep = Math.min(body.length - 1, rule.keepBytes ?? body.length >> 1);
          res.write(body.subarray(0, Math.max(0, keep)), () => setTimeout(() => req.socket.destroy(), 10));
          return;
        }
        res.writeHead(status, headers);
        res.end(body);
      });
    };
    if (rule?.action === "delay" && rule.until) void rule.until(path, method).then(forward, forward);
    else if (rule?.action === "delay") setTimeout(forward, rule.delayMs ?? 1000);
    else if (rule?.action === "hook") {
      Promise.resolve()
        .then(() => rule.hook?.())
        .then(forward, () => req.socket.destroy());
    } else forward();
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: origin,
    target: targetOrigin,
    log,
    add(rule: FaultRule): RuleHandle {
      const st: RuleState = { rule: { ...rule }, matched: 0, injected: 0, disabled: false };
      rules.push(st);
      const handle = {
        ...rule,
        get matched() {
          return st.matched;
        },
        get injected() {
          return st.injected;
        },
        disable() {
          st.disabled = true;
        },
      };
      return handle as RuleHandle;
    },
    clear() {
      rules.length = 0;
    },
    counts() {
      const byAction: Partial<Record<FaultAction, number>> = {};
      const byLabel: Record<string, number> = {};
      let injected = 0;
      for (const e of log) {
        if (e.fault) {
          injected++;
          byAction[e.fault] = (byAction[e.fault] ?? 0) + 1;
          byLabel[e.label!] = (byLabel[e.label!] ?? 0) + 1;
        }
      }
      return { requests: log.length, injected, byAction, byLabel };
    },
    async close() {
      agent.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Counts the body bytes of every answer the proxy passes on, unchanged (a `rewrite` rule matching every
 * request: add it before any other rule, which it would otherwise shadow). `bytes` grows as answers go out.
 */
export function countAnswerBytes(proxy: FaultProxy): { readonly bytes: number } {
  const counter = { bytes: 0 };
  proxy.add({
    action: "rewrite",
    path: () => true,
    rewrite: (answer) => {
      counter.bytes += answer.body.length;
      return { status: answer.status, headers: answer.headers, body: answer.body };
    },
  });
  return counter;
}
