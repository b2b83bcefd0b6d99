export const MiB: number;
export function seedOf(tag: string): number;
export function seededBytes(n: number, seed?: number | string): Uint8Array<ArrayBuffer>;
export function seededStream(seed?: number | string): (n: number) => Uint8Array<ArrayBuffer>;
export function seededRandom(seed: number | string): () => number;
export function scenarioFiles(tag: string): { path: string; bytes: Uint8Array<ArrayBuffer>; asBlob?: boolean }[];
