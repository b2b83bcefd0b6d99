export function seededBytes(n: number, seed: number): Uint8Array;
export function scenarioFiles(tag: string): { path: string; bytes: Uint8Array; asBlob?: boolean }[];
export function seedOf(tag: string): number;
