// The front end's lint (`make lint`): ESLint's recommended rules and a few that keep the page's
// modules plain, for the page (browser globals) and its unit tests (node globals).
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      "no-implicit-globals": "error",
      "no-shadow": "error",
    },
  },
  { files: ["resource/**/*.js"], languageOptions: { globals: globals.browser } },
  { files: ["tests/js/**/*.js", "eslint.config.js"], languageOptions: { globals: globals.node } },
];
