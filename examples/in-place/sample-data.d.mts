export function sampleParquet(options?: { rows?: number; rowGroupRows?: number; seed?: number }): {
  bytes: Uint8Array<ArrayBuffer>;
  id: Int32Array;
  score: Float64Array;
};
export function sampleCsv(options?: { rows?: number; seed?: number }): { bytes: Uint8Array<ArrayBuffer>; rows: string[][] };
