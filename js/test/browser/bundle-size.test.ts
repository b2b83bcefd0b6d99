/**
 * Size budgets per entry point (USERS.md §6.2): each entry bundled for the browser by esbuild, gzipped, plus
 * the .wasm. Bundling with `platform: "browser"` and no externals also proves that no entry reaches a Node
 * module (esbuild cannot resolve `node:*` for the browser). Figures: BENCHMARKS.md (npx tsx bench/bundle-size.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { measureEntries } from "../../../bench/bundle-size.js";

test("bundle size: every entry point bundles for the browser and stays within its gzip budget (JS + WASM)", async () => {
  const sizes = await measureEntries();
  assert.deepEqual(
    sizes.map((s) => s.name),
    ["xet-buckets", "xet-buckets/hash", "xet-buckets/download", "browser"],
  );
  for (const s of sizes) {
    const total = s.jsGzip + s.wasmGzip;
    process.stderr.write(
      `# ${s.name}: JS ${(s.jsGzip / 1024).toFixed(1)} KiB + WASM ${(s.wasmGzip / 1024).toFixed(1)} KiB gzipped (budget ${s.budget / 1024} KiB)\n`,
    );
    assert.ok(total <= s.budget, `${s.name}: ${total} bytes gzipped exceeds its budget of ${s.budget}`);
    assert.ok(s.jsGzip > 0 && s.wasmGzip > 50 * 1024, JSON.stringify(s));
  }
  // Entry points are tree-shakeable: the hash-only entry is a fraction of the full client.
  const [full, hash] = sizes;
  assert.ok(hash!.jsGzip * 3 < full!.jsGzip, `hash ${hash!.jsGzip} vs full ${full!.jsGzip}`);
});
