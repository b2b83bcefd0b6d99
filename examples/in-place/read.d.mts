import type { FileMetaData } from "hyparquet";

export interface CountingFetch {
  /** Response bytes the server sent (Content-Length, or the bytes read from a body without one). */
  bytes: number;
  requests: number;
  fetch: typeof fetch;
}
export function countingFetch(inner?: typeof fetch): CountingFetch;
export function blobAsyncBuffer(blob: Pick<Blob, "size" | "slice">): {
  byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
};
export function readParquetColumns(
  blob: Pick<Blob, "size" | "slice">,
  columns?: string[],
  options?: { rowStart?: number; rowEnd?: number },
): Promise<{ rows: Record<string, unknown>[]; metadata: FileMetaData }>;
export function csvRows(blob: Pick<Blob, "stream">): AsyncGenerator<string[]>;
