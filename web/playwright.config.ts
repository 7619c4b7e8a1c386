import { defineConfig } from "@playwright/test";

// End-to-end tests of the web interface in headless Chromium (Debian's
// /usr/bin/chromium, or CORVUS_CHROMIUM) against the real corvus binary,
// which tests/global-setup.ts starts on a free loopback port.
export default defineConfig({
  testDir: "tests",
  testMatch: "*.spec.ts",
  globalSetup: "./tests/global-setup.ts",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // One server, one browser at a time: the tests share the server's job
  // queues and the SAMP hub's fixed port.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [["list"]],
  // The README's screenshots are taken on demand (npm run screenshots), not in CI.
  grep: process.env.CORVUS_SCREENSHOTS ? /@screenshots/ : undefined,
  grepInvert: process.env.CORVUS_SCREENSHOTS ? undefined : /@screenshots/,
  use: {
    headless: true,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    launchOptions: {
      executablePath: process.env.CORVUS_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    },
  },
});
