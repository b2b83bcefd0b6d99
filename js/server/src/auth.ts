/**
 * Who may do what on the local hub.
 *
 * - Hub tokens are configured at start: each user has a write token (`hf_…`) and optional read-only
 *   tokens. A user reads and writes its own namespace and the organisations it belongs to; read tokens
 *   only read. Public buckets are readable by anyone, anonymous callers included.
 * - CAS tokens (from `xet-read-token` / `xet-write-token`) are stateless: an HMAC-signed payload with
 *   the bucket or repository id, the scope (read or write) and the expiry. The signing secret is persisted in the
 *   database, so tokens survive a restart.
 * - Fetch URLs of reconstructions are signed the same way (xorb, byte ranges, expiry) and need no
 *   Authorization header.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { InvalidArgumentError } from "xet-buckets";
import { HttpError } from "./http.js";
import { nameProblem } from "./paths.js";

/** A user of the local hub. */
export interface HubUser {
  /** User name = its namespace. */
  name: string;
  /** Write token (reads and writes everything the user may). Must start with `hf_`. */
  token: string;
  /** Read-only tokens of this user. Must start with `hf_`. */
  readTokens?: string[];
  /** Organisations (namespaces) the user is a member of, with the same rights as its own namespace. */
  orgs?: string[];
}

export interface Principal {
  user: string;
  scope: "read" | "write";
  /** Namespaces the user belongs to (its own and its organisations). */
  namespaces: ReadonlySet<string>;
}

export type CasScope = "read" | "write";

/** What a CAS token grants: access to the files of one bucket, or of one repository (`repoId`). */
export type CasClaims = {
  scope: CasScope;
  /** Unix seconds. */
  exp: number;
} & ({ bucketId: number; repoId?: undefined } | { repoId: number; bucketId?: undefined });

const TOKEN_PREFIX = "hf_";
const CAS_PREFIX = "xetcas_";

/**
 * Why `name` cannot be a user or organisation name, or undefined. The Hub's rules, as huggingface_hub's
 * `validate_repo_id` mirrors them: 1–96 ASCII letters, digits, '-', '_' or '.', starting and ending with a
 * letter, digit or '_' (the Hub's test users are named like `__DUMMY_TRANSFORMERS_USER__`), no '--' or '..'.
 * "me" is refused: URLs use it for the caller's own namespace.
 */
export function namespaceProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "is not a string";
  if (name === "me") return 'is "me", which URLs use for the caller\'s own namespace';
  return nameProblem(name);
}

/** Checks the configured users; throws a readable error for anything the official clients would refuse. */
export function validateUsers(users: HubUser[]): void {
  const names = new Set<string>();
  const tokens = new Set<string>();
  for (const u of users) {
    const problem = namespaceProblem(u?.name);
    if (problem) throw new InvalidArgumentError(`invalid user name ${JSON.stringify(u?.name)}: it ${problem}`);
    if (names.has(u.name)) throw new InvalidArgumentError(`user ${u.name} is configured twice`);
    names.add(u.name);
    for (const t of [u.token, ...(u.readTokens ?? [])]) {
      if (typeof t !== "string" || !t.startsWith(TOKEN_PREFIX) || t.length < 8 || /\s/.test(t)) {
        throw new InvalidArgumentError(
          `the tokens of user ${u.name} must start with "${TOKEN_PREFIX}", be at least 8 characters and contain no spaces ` +
            "(the official JavaScript client refuses other tokens)",
        );
      }
      if (tokens.has(t)) throw new InvalidArgumentError(`a token of user ${u.name} is used twice`);
      tokens.add(t);
    }
    for (const o of u.orgs ?? []) {
      const orgProblem = namespaceProblem(o);
      if (orgProblem) throw new InvalidArgumentError(`invalid organisation name ${JSON.stringify(o)} for user ${u.name}: it ${orgProblem}`);
      if (users.some((other) => other.name === o)) {
        throw new InvalidArgumentError(`${JSON.stringify(o)} is both a user and an organisation: a namespace is one or the other`);
      }
    }
  }
}

const digest = (token: string): string => createHash("sha256").update(token).digest("base64");
const b64url = (b: Buffer | string): string => Buffer.from(b).toString("base64url");

export class Auth {
  /** SHA-256 of each token → principal (tokens themselves are not kept in a lookup table). */
  readonly #byToken = new Map<string, Principal>();
  readonly #tokenKey: Buffer;
  readonly #fetchKey: Buffer;
  readonly users: readonly HubUser[];
  /** Every user and organisation name. */
  readonly namespaces: ReadonlySet<string>;

  constructor(users: HubUser[], secret: Buffer) {
    validateUsers(users);
    this.users = users;
    this.namespaces = new Set(users.flatMap((u) => [u.name, ...(u.orgs ?? [])]));
    for (const u of users) {
      const namespaces = new Set([u.name, ...(u.orgs ?? [])]);
      this.#byToken.set(digest(u.token), { user: u.name, scope: "write", namespaces });
      for (const t of u.readTokens ?? []) this.#byToken.set(digest(t), { user: u.name, scope: "read", namespaces });
    }
    this.#tokenKey = createHmac("sha256", secret).update("xet-buckets cas token v1").digest();
    this.#fetchKey = createHmac("sha256", secret).update("xet-buckets fetch url v1").digest();
  }

  /** The principal of a Hub token; undefined for anonymous calls; 401 for unknown tokens. */
  principal(token: string | undefined): Principal | undefined {
    if (token === undefined) return undefined;
    const p = this.#byToken.get(digest(token));
    if (!p) throw new HttpError(401, "Invalid credentials in Authorization header", { exposeMessage: true });
    return p;
  }

  canRead(p: Principal | undefined, bucket: { namespace: string; private: boolean }): boolean {
    return !bucket.private || (p !== undefined && p.namespaces.has(bucket.namespace));
  }

  /** True when `p` may create, change or delete buckets and files in `namespace`. */
  canWrite(p: Principal | undefined, namespace: string): boolean {
    return p !== undefined && p.scope === "write" && p.namespaces.has(namespace);
  }

  // ----------------------------------------------------------------------------------- CAS tokens

  mintCasToken(claims: CasClaims): string {
    const owner = claims.repoId !== undefined ? { r: claims.repoId } : { b: claims.bucketId };
    const payload = b64url(JSON.stringify({ v: 1, ...owner, s: claims.scope === "write" ? "w" : "r", e: claims.exp }));
    const sig = createHmac("sha256", this.#tokenKey).update(payload).digest("base64url");
    return `${CAS_PREFIX}${payload}.${sig}`;
  }

  /** Verifies a CAS token; 401 when it is missing, malformed, forged or expired. */
  verifyCasToken(token: string | undefined, nowSecs: number): CasClaims {
    if (token === undefined) throw new HttpError(401, "a CAS access token is required (Authorization: Bearer <accessToken>)");
    const bad = () => new HttpError(401, "invalid CAS access token: get a new one from the xet-read-token or xet-write-token endpoint");
    if (!token.startsWith(CAS_PREFIX)) throw bad();
    const [payload, sig, extra] = token.slice(CAS_PREFIX.length).split(".");
    if (!payload || !sig || extra !== undefined) throw bad();
    const want = createHmac("sha256", this.#tokenKey).update(payload).digest();
    const got = Buffer.from(sig, "base64url");
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw bad();
    let claims: { v?: unknown; b?: unknown; r?: unknown; s?: unknown; e?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as typeof claims;
    } catch {
      throw bad();
    }
    if (
      claims.v !== 1 ||
      (typeof claims.b === "number") === (typeof claims.r === "number") ||
      typeof claims.e !== "number" ||
      (claims.s !== "r" && claims.s !== "w")
    ) {
      throw bad();
    }
    if (claims.e <= nowSecs) {
      throw new HttpError(401, "the CAS access token has expired: refresh it from the token endpoint");
    }
    const scope = claims.s === "w" ? "write" : "read";
    if (typeof claims.r === "number") return { repoId: claims.r, scope, exp: claims.e };
    return { bucketId: claims.b as number, scope, exp: claims.e };
  }

  // ----------------------------------------------------------------------------------- fetch URLs

  /** Query string of a signed fetch URL for `ranges` (inclusive byte ranges) of a xorb. */
  signFetch(xorb: string, ranges: Array<[number, number]>, exp: number): string {
    const r = ranges.map(([s, e]) => `${s}-${e}`).join(",");
    const sig = this.#fetchSig(xorb, r, exp);
    return `r=${r}&exp=${exp}&sig=${sig}`;
  }

  /** Checks a fetch URL's query; returns its signed ranges, or throws 403 (expired or bad signature). */
  verifyFetch(xorb: string, query: URLSearchParams, nowSecs: number): Array<[number, number]> {
    const r = query.get("r");
    const exp = Number(query.get("exp"));
    const sig = query.get("sig");
    if (r === null || sig === null || !Number.isSafeInteger(exp) || !/^\d+-\d+(,\d+-\d+)*$/.test(r)) {
      throw new HttpError(403, "invalid fetch URL: ask for a new reconstruction");
    }
    const want = Buffer.from(this.#fetchSig(xorb, r, exp), "base64url");
    const got = Buffer.from(sig, "base64url");
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new HttpError(403, "invalid fetch URL signature: ask for a new reconstruction");
    }
    if (exp <= nowSecs) throw new HttpError(403, "the fetch URL has expired: ask for a new reconstruction");
    return r.split(",").map((p) => {
      const [s, e] = p.split("-");
      return [Number(s), Number(e)] as [number, number];
    });
  }

  #fetchSig(xorb: string, ranges: string, exp: number): string {
    return createHmac("sha256", this.#fetchKey).update(`${xorb}\n${ranges}\n${exp}`).digest("base64url");
  }
}
