/**
 * Resumable uploads (USERS.md §5): an upload that was killed or failed is run again and does not send
 * again the xorbs the CAS already accepted.
 *
 * How: xorbs are content-addressed and their formation is deterministic for the same inputs, options and
 * dedup answers, so a second run re-chunks the files (cheap) and forms the same xorbs. A small persisted
 * state per upload lists the xorbs the first run started (`p`) or finished (`a`) posting; before posting a
 * xorb that the state lists, the pipeline asks the CAS whether it holds it (`HEAD /v1/xorbs/default/{hash}`,
 * xet-protocol.md §6.2 C5) and skips the POST when it does. The state is never trusted blindly: a xorb the
 * CAS does not hold (another server, a wiped CAS, a state file from elsewhere) is posted as usual. Then the
 * shards are uploaded and the files registered, so the end state is that of an uninterrupted run.
 *
 * One more rule keeps formation deterministic: a CAS may index the chunks of a xorb as soon as it is stored
 * (the local hub does), so the second run's global-dedup queries could hit the xorbs the first run stored
 * and cut the same data into different xorbs. Dedup answers that name a xorb of the state are therefore
 * treated as misses: the run forms those xorbs again and skips their POST.
 *
 * The state is stamped with a format version and the core's version, and keyed by the upload's identity
 * (endpoint, bucket, destination paths and the sources' sizes and modification times). A state with
 * another stamp or key, or a corrupt one, is ignored with a warning and replaced. Once the files are
 * registered the state is deleted. Backends: a directory in Node, Deno and Bun (`directoryResumeStore`,
 * platform/node/resume.ts), IndexedDB in browsers (`browser/resume.ts`); anything implementing `ResumeStore`
 * (resume-state.ts, the contract) works.
 */
import { coreVersion, hexToRaw, initCore } from "../core/index.js";
import { InvalidArgumentError } from "../errors.js";
import { toHex } from "../hex.js";
import {
  RESUME_FORMAT,
  RESUME_FORMAT_VERSION,
  type DirectoryResumeOptions,
  type ResumeStamp,
  type ResumeState,
  type ResumeStore,
} from "../resume-state.js";
import { localFilesFor } from "../sources.js";
import type { CasClient } from "./cas.js";

export type { ResumeState, ResumeStore } from "../resume-state.js";

export async function resumeStamp(): Promise<ResumeStamp> {
  await initCore();
  return { format: RESUME_FORMAT, version: RESUME_FORMAT_VERSION, core: coreVersion() };
}

/**
 * A `ResumeStore` keeping one file per upload in `dir`, created if missing (Node, Deno, Bun: the `resumeDir`
 * option; the file format is platform/node/resume.ts's).
 */
export function directoryResumeStore(dir: string, options: DirectoryResumeOptions = {}): ResumeStore {
  const files = localFilesFor("resumeDir");
  return { open: async (key, warn) => files.openResumeState(dir, key, await resumeStamp(), warn, options) };
}

/** What identifies an upload: a run with the same identity resumes the state of an earlier one. */
export interface UploadIdentity {
  endpoint: string;
  bucket: string;
  files: Array<{ path: string; size?: number; mtime?: number; kind: string }>;
}

/** SHA-256 (hex) of the identity: the state's key. */
export async function resumeKey(id: UploadIdentity): Promise<string> {
  const text = JSON.stringify([id.endpoint, id.bucket, id.files.map((f) => [f.path, f.size ?? null, f.mtime ?? null, f.kind])]);
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new InvalidArgumentError("resuming needs crypto.subtle, which this runtime (or an insecure browser context) lacks");
  const digest = await subtle.digest("SHA-256", new TextEncoder().encode(text));
  return toHex(new Uint8Array(digest));
}

const RECORD = 48;
const HEADER = 48;

/**
 * The xorb hashes (raw bytes as plain hex) of a shard's xorb section, read by walking the records; undefined
 * when the bytes do not look like a shard (the core then judges the answer).
 */
export function shardXorbsRaw(shard: Uint8Array): string[] | undefined {
  const isBookend = (at: number) => {
    for (let i = at; i < at + 32; i++) if (shard[i] !== 0xff) return false;
    return true;
  };
  const view = new DataView(shard.buffer, shard.byteOffset, shard.byteLength);
  const u32 = (at: number) => view.getUint32(at, true);
  let at = HEADER;
  // File section: headers with num_entries terms (+ verification, + metadata ext), up to the bookend.
  for (;;) {
    if (at + RECORD > shard.length) return undefined;
    if (isBookend(at)) break;
    const flags = u32(at + 32);
    const n = u32(at + 36);
    const per = 1 + (flags >= 0x80000000 ? 1 : 0);
    at += RECORD * (1 + n * per + ((flags & 0x40000000) !== 0 ? 1 : 0));
  }
  at += RECORD;
  const out: string[] = [];
  for (;;) {
    if (at + RECORD > shard.length) return undefined;
    if (isBookend(at)) return out;
    out.push(toHex(shard, at, at + 32));
    at += RECORD * (1 + u32(at + 36));
  }
}

/**
 * One upload's resume logic, shared by every runtime: consulted by the pipeline before each xorb POST and
 * on each dedup answer, told about each accepted xorb, and about the registration at the end.
 */
export class UploadResume {
  readonly state: ResumeState;
  /** Xorbs of earlier runs (started or accepted): candidates for skipping. */
  readonly candidates: number;
  /** Xorbs whose POST was skipped because the CAS held them. */
  xorbsSkipped = 0;
  /** Serialized bytes not sent again thanks to the state. */
  bytesSkipped = 0;
  /** Candidates the CAS did not hold (posted again). */
  notStored = 0;
  /** Dedup answers treated as misses because they named a xorb of the state. */
  answersIgnored = 0;
  readonly #raw: Set<string>;

  constructor(state: ResumeState) {
    this.state = state;
    this.candidates = state.known.size;
    this.#raw = new Set();
    for (const h of state.known.keys()) {
      try {
        this.#raw.add(toHex(hexToRaw(h)));
      } catch {
        // a hash the core refuses cannot be in any answer
      }
    }
  }

  /**
   * True when this xorb was started or accepted by an earlier run and the CAS holds it now: its POST is
   * skipped. Errors of the check count as "not held" (the xorb is posted), except an abort.
   */
  async alreadyStored(cas: CasClient, hash: string, bytes: number, signal: AbortSignal): Promise<boolean> {
    if (!this.state.known.has(hash)) return false;
    let held: boolean;
    try {
      held = await cas.requestRead(`/v1/xorbs/default/${hash}`, { method: "HEAD", accept: [404], signal }, async (res) => {
        await res.body?.cancel();
        return res.status >= 200 && res.status < 300;
      });
    } catch (err) {
      if (signal.aborted) throw err;
      held = false;
    }
    if (!held) {
      this.notStored++;
      return false;
    }
    this.xorbsSkipped++;
    this.bytesSkipped += bytes;
    if (this.state.known.get(hash) !== "a") this.state.accepted(hash);
    return true;
  }

  posting(hash: string): void {
    if (!this.state.known.has(hash)) this.state.posting(hash);
  }

  accepted(hash: string): void {
    if (this.state.known.get(hash) !== "a") this.state.accepted(hash);
  }

  /** A dedup answer that names a xorb of the state is a miss (see the module doc). */
  filterAnswer(shard: Uint8Array | undefined): Uint8Array | undefined {
    if (!shard || this.#raw.size === 0) return shard;
    const xorbs = shardXorbsRaw(shard);
    if (xorbs?.some((x) => this.#raw.has(x))) {
      this.answersIgnored++;
      return undefined;
    }
    return shard;
  }

  registered(): Promise<void> {
    return this.state.registered();
  }

  close(): Promise<void> {
    return this.state.close();
  }

  /** Adds the counters of `other` (a later attempt of the same call) to these. */
  add(other: UploadResume): void {
    this.xorbsSkipped += other.xorbsSkipped;
    this.bytesSkipped += other.bytesSkipped;
    this.notStored += other.notStored;
    this.answersIgnored += other.answersIgnored;
  }

  /** Counters for reports. */
  summary(): ResumeSummary {
    return {
      candidates: this.candidates,
      xorbsSkipped: this.xorbsSkipped,
      bytesSkipped: this.bytesSkipped,
      notStored: this.notStored,
      answersIgnored: this.answersIgnored,
    };
  }
}

/**
 * A resume state in memory for another attempt within one call (a multi-file upload going on without a file
 * that failed): the xorbs `inner` (the caller's state, when there is one) knows, those `stored` as accepted and
 * those `posted` as started; marks go to `inner` too. Closing and registering are `inner`'s owner's.
 */
export class MemoryResumeState implements ResumeState {
  readonly known: Map<string, "p" | "a">;
  readonly #inner: ResumeState | undefined;

  constructor(inner: ResumeState | undefined, stored: Iterable<string>, posted: Iterable<string> = []) {
    this.#inner = inner;
    this.known = new Map(inner?.known);
    for (const h of posted) if (!this.known.has(h)) this.known.set(h, "p");
    for (const h of stored) this.known.set(h, "a");
  }
  posting(h: string): void {
    if (!this.known.has(h)) this.known.set(h, "p");
    this.#inner?.posting(h);
  }
  accepted(h: string): void {
    this.known.set(h, "a");
    this.#inner?.accepted(h);
  }
  async registered(): Promise<void> {}
  async close(): Promise<void> {}
}

/** What resuming did in one call (present on results when a resume state was used). */
export interface ResumeSummary {
  /** Xorbs an earlier run of the same upload started or finished posting. */
  candidates: number;
  /** Of those, xorbs the CAS held: not sent again. */
  xorbsSkipped: number;
  /** Their serialized bytes. */
  bytesSkipped: number;
  /** Candidates the CAS did not hold (sent again). */
  notStored: number;
  /** Dedup answers ignored because they named a xorb of the state. */
  answersIgnored: number;
}
