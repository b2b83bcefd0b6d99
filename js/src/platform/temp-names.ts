/**
 * Names of temporary download files: `.<name>.<12 hex digits>.xet-tmp` next to their target. The Node file sink
 * (node/download.ts) writes them; sync recognises the ones a killed process left behind. One definition, so
 * that both always agree.
 */

/** A temporary download name; group 1 is the target's `<name>`. */
export const DOWNLOAD_TEMP_NAME = /^\.(.+)\.[0-9a-f]{12}\.xet-tmp$/;

/** The temporary name for a target named `name`; `random` is 12 hex digits (6 random bytes). */
export function downloadTempName(name: string, random: string): string {
  return `.${name}.${random}.xet-tmp`;
}
