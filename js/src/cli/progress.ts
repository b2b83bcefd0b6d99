/**
 * One-line progress on stderr, only when stderr is a terminal (and not in quiet / json mode, nor with
 * HF_HUB_DISABLE_PROGRESS_BARS set): bytes done / total, percentage, rate, and for uploads the bytes
 * deduplicated and the new bytes sent. Redrawn at most 10 times a second; `done()` leaves a final line.
 */
import type { UploadProgressEvent } from "../api/upload.js";
import type { DownloadProgress } from "../api/download.js";
import { formatSize } from "./output.js";
import type { CommandIo } from "./util.js";

export interface ProgressState {
  done: number;
  total?: number;
  dedup?: number;
  newBytes?: number;
  sent?: number;
  filesDone?: number;
  files?: number;
}

export function progressEnabled(io: CommandIo, mode: string): boolean {
  const off = io.env.HF_HUB_DISABLE_PROGRESS_BARS;
  if (off && off !== "0" && off.toLowerCase() !== "false") return false;
  return !!io.stderr.isTTY && mode !== "quiet" && mode !== "json";
}

export class ProgressLine {
  readonly #io: CommandIo;
  readonly #enabled: boolean;
  #label: string;
  #state: ProgressState = { done: 0 };
  #samples: [number, number][] = [];
  #lastDraw = 0;
  #drawn = false;
  readonly #start = Date.now();

  constructor(io: CommandIo, enabled: boolean, label: string) {
    this.#io = io;
    this.#enabled = enabled;
    this.#label = label;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  label(label: string): void {
    this.#label = label;
    this.#draw(true);
  }

  update(state: Partial<ProgressState>): void {
    this.#state = { ...this.#state, ...state };
    const now = Date.now();
    this.#samples.push([now, this.#state.done]);
    while (this.#samples.length > 2 && now - this.#samples[0]![0] > 5000) this.#samples.shift();
    this.#draw(false);
  }

  /** Feeds an upload progress event. */
  upload(ev: UploadProgressEvent): void {
    if (ev.event === "bytes") {
      this.update({
        done: ev.processed,
        total: ev.total,
        dedup: ev.dedupLocal + ev.dedupGlobal,
        newBytes: ev.newBytes,
        sent: ev.sent,
        filesDone: ev.filesDone,
        files: ev.files,
      });
    } else if (ev.event === "phase" && (ev.phase === "uploadingShards" || ev.phase === "committing")) {
      this.label(ev.phase === "committing" ? "Committing" : "Registering");
    }
  }

  #perFile = new Map<string, number>();
  #filesDone = new Set<string>();

  /** Feeds a download progress event (per file; totals are summed over files). */
  download(p: DownloadProgress, total?: number, files?: number): void {
    this.#perFile.set(p.localPath, p.bytes);
    if (p.done) this.#filesDone.add(p.localPath);
    let done = 0;
    for (const b of this.#perFile.values()) done += b;
    this.update({ done, total, filesDone: this.#filesDone.size, files });
  }

  #rate(): number {
    const s = this.#samples;
    if (s.length < 2) return 0;
    const [t0, b0] = s[0]!;
    const [t1, b1] = s[s.length - 1]!;
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }

  #render(): string {
    const st = this.#state;
    const parts = [this.#label.padEnd(11)];
    parts.push(st.total !== undefined ? `${formatSize(st.done)} / ${formatSize(st.total)}` : formatSize(st.done));
    if (st.total) parts.push(`${Math.floor((100 * Math.min(st.done, st.total)) / st.total)}%`);
    parts.push(`${formatSize(Math.round(this.#rate()))}/s`);
    if (st.dedup !== undefined) parts.push(`dedup ${formatSize(st.dedup)}`);
    if (st.sent !== undefined) parts.push(`sent ${formatSize(st.sent)}`);
    if (st.files !== undefined && st.files > 1) parts.push(`${st.filesDone ?? 0}/${st.files} files`);
    const line = parts.join("  ");
    const cols = this.#io.stderr.columns ?? 0;
    return cols > 10 && line.length >= cols ? line.slice(0, cols - 1) : line;
  }

  #draw(force: boolean): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    this.#io.stderr.write(`\r\x1b[K${this.#render()}`);
    this.#drawn = true;
  }

  /** Draws the final state and ends the line (a summary replaces it when given). */
  done(summary?: string): void {
    if (!this.#enabled) return;
    if (summary !== undefined) this.#io.stderr.write(`\r\x1b[K${summary}\n`);
    else if (this.#drawn || Date.now() - this.#start >= 0) {
      this.#io.stderr.write(`\r\x1b[K${this.#render()}\n`);
    }
    this.#drawn = false;
  }

  /** Clears the line without a summary (on errors). */
  clear(): void {
    if (this.#enabled && this.#drawn) this.#io.stderr.write("\r\x1b[K");
    this.#drawn = false;
  }
}
