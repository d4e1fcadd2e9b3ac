// ESLint for the web interface (flat config): the recommended rules plus a few that catch real
// mistakes in plain ES modules. Types are checked separately by `tsc` (tsconfig.json).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["dist/", "node_modules/"] },
  js.configs.recommended,
  {
    files: ["src/**/*.js"],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.browser },
  },
  {
    files: ["*.js", "*.mjs"],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.node },
  },
  {
    rules: {
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "no-shadow": "error",
      "no-self-compare": "error",
      "no-template-curly-in-string": "error",
      "no-unmodified-loop-condition": "error",
      "no-unreachable-loop": "error",
      "no-throw-literal": "error",
      "no-implicit-globals": "error",
      "no-use-before-define": ["error", { functions: false, classes: true, variables: false }],
      "no-promise-executor-return": "error",
      "no-constructor-return": "error",
      "no-duplicate-imports": "error",
      "no-console": ["error", { allow: ["warn", "error"] }],
      // Japanese text may use the ideographic space (U+3000) in strings and templates.
      "no-irregular-whitespace": ["error", { skipStrings: true, skipTemplates: true }],
    },
  },
  // Node scripts report on the console.
  { files: ["*.js", "*.mjs"], rules: { "no-console": "off" } },
];
