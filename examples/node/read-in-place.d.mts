interface Where {
  repo: string;
  path: string;
  hubUrl?: string;
  accessToken?: string;
  fetch?: typeof fetch;
}
export function readParquetInPlace(
  params: Where & { columns?: string[] },
): Promise<{ size: number; rowGroups: number; rows: Record<string, unknown>[]; fetchedBytes: number; requests: number }>;
export function readCsvInPlace(params: Where): Promise<{ size: number; rows: string[][]; fetchedBytes: number; requests: number }>;
