export interface StaticServer {
  url: string;
  port: number;
  close(): Promise<void>;
}
export function startStaticServer(options?: { root?: string; port?: number; host?: string; allow?: string[] }): Promise<StaticServer>;
/** The path prefixes served by default: the pages, the shared read-in-place module, dist/ and hyparquet. */
export const DEFAULT_ALLOW: string[];
