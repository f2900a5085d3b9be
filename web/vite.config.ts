import { defineConfig } from "vite";

// The build is committed into the Python package (src/cargohold/web/) and checked against the
// sources by check-build.sh, so it must be deterministic: content-hashed names, no timestamps,
// no inline scripts (the page is served with a strict CSP: script-src 'self').
export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic", legalComments: "none" },
  build: {
    outDir: "../src/cargohold/web",
    emptyOutDir: true,
    assetsDir: "assets",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
    reportCompressedSize: false,
  },
});
