/**
 * Starts `corvus serve --demo` on a free loopback port for the whole run and
 * stops it afterwards; the tests find the page at CORVUS_URL.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, openSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const CORVUS = join(process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache/corvus/target"), "debug", "corvus");

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(CORVUS)) throw new Error(`build corvus first (${CORVUS} is missing): run ./scripts/test`);
  // The server's log goes to a file, named here for when a test fails.
  const log = join(tmpdir(), `corvus-web-e2e-${process.pid}.log`);
  console.log(`corvus serve --demo: log in ${log}`);
  const server = spawn(CORVUS, ["serve", "--demo", "--bind", "127.0.0.1:0"], { stdio: ["ignore", "pipe", openSync(log, "w")] });
  const tapUrl = await firstLine(server);
  // The web interface lives at the service's root, beside /tap.
  process.env.CORVUS_URL = tapUrl.replace(/\/tap\/?$/, "/");
  return async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  };
}

/** The TAP URL from the server's first line, "Corvus TAP service at URL". */
function firstLine(server: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: server.stdout! });
    const timer = setTimeout(() => reject(new Error("corvus serve did not start within 120 s")), 120_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      const match = /^Corvus TAP service at (\S+)/.exec(line);
      if (match) resolve(match[1]);
      else reject(new Error(`corvus serve did not start: ${line}`));
    });
    server.once("exit", (code) => reject(new Error(`corvus serve exited with status ${code}`)));
  });
}
