// ESLint (flat config): typescript-eslint's recommended rules for the TypeScript sources, tests and benches,
// and the plain recommended rules for the build scripts. Formatting is Prettier's job (npm run lint runs both).
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "target/",
      "dist/",
      "pkg/",
      "js/src/core/wasm/",
      "js/src/platform/generated/",
      ".venv/",
      ".cache/",
      "test-artifacts/",
      "docs/api/",
      "bench-data/",
      "fuzz/",
      "node_modules/",
    ],
  },
  js.configs.recommended,
  {
    files: ["**/*.ts", "**/*.mts"],
    extends: [tseslint.configs.recommended],
    rules: {
      // Unused bindings are dead code; a leading underscore marks the deliberate ones.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // `any` stays allowed in tests (parsed JSON, fault injection); the sources must say what they hold.
      "@typescript-eslint/no-explicit-any": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
      // Expected CLI output is written as it prints, spaces included.
      "no-regex-spaces": "off",
      // The *Iter calls mirror @huggingface/hub's progress generators, some of which have nothing to report yet.
      "require-yield": "off",
    },
  },
  {
    files: ["js/test/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-non-null-assertion": "off" },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node, ...globals.browser } },
    rules: { "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }] },
  },
);
