import { defineConfig } from "vitest/config";

// The bundle is built into the folder the Rust build names (the web-assets
// crate's build script sets CORVUS_WEB_OUT) and embedded in the binary.
// Paths are relative ("./ui/..."), so the page works behind a proxy that
// serves the service under a path prefix.
export default defineConfig({
  base: "./",
  build: {
    outDir: process.env.CORVUS_WEB_OUT ?? "dist",
    emptyOutDir: true,
    assetsDir: "ui",
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
