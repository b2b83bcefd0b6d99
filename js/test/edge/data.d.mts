export function seededBytes(n: number, seed: number): Uint8Array<ArrayBuffer>;
export function scenarioFiles(tag: string): { path: string; bytes: Uint8Array<ArrayBuffer>; asBlob?: boolean }[];
export function seedOf(tag: string): number;
