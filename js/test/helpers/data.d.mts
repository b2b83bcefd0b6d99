export const MiB: number;
export function seedOf(tag: string): number;
export function seededBytes(n: number, seed?: number | string): Uint8Array<ArrayBuffer>;
export function seededStream(seed?: number | string): (n: number) => Uint8Array<ArrayBuffer>;
export function seededRandom(seed: number | string): () => number;
export const CHECKPOINT_REGIONS: readonly number[];
export const CHECKPOINT_CHANGED_SHARE: number;
export const CHECKPOINT_INSERT: { readonly at: number; readonly bytes: number };
export type CheckpointVersion = "original" | "changed" | "inserted";
export function checkpointBlocks(
  size: number,
  seed: number | string,
  version?: CheckpointVersion,
  blockBytes?: number,
): Generator<Uint8Array<ArrayBuffer>, void, undefined>;
export function scenarioFiles(tag: string): { path: string; bytes: Uint8Array<ArrayBuffer>; asBlob?: boolean }[];
