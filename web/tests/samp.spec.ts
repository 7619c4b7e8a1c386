/**
 * "Send to TOPCAT/Aladin" with a real SAMP hub: astropy's SAMPHubServer
 * with the Web Profile and a Standard Profile client that receives
 * table.load.votable and downloads the table, as TOPCAT would
 * (tests/samp_hub.py, run with the project's Python).
 */

import { type Page, expect, test } from "@playwright/test";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const PYTHON = process.env.CORVUS_PYTHON ?? join(process.env.CORVUS_VENV ?? join(homedir(), ".cache/corvus/py"), "bin", "python");

type HubEvent = { event: string; [field: string]: unknown };

/** The hub and receiving client, and the events they print. */
class Hub {
  private events: HubEvent[] = [];
  private waiters: (() => void)[] = [];

  private constructor(private readonly process: ChildProcessWithoutNullStreams) {
    createInterface({ input: process.stdout }).on("line", (line) => {
      try {
        this.events.push(JSON.parse(line) as HubEvent);
      } catch {
        this.events.push({ event: "unparsed", line });
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    process.stderr.resume();
  }

  static async start(): Promise<Hub> {
    const hub = new Hub(spawn(PYTHON, [fileURLToPath(new URL("samp_hub.py", import.meta.url)), "--consent", "accept"], { stdio: "pipe" }));
    await hub.next("ready", 60_000);
    return hub;
  }

  /** The first event named `name` (waiting for it), failing on the hub's own error. */
  async next(name: string, timeout = 20_000): Promise<HubEvent> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = this.events.find((e) => e.event === name || e.event === "error");
      if (found?.event === "error") throw new Error(`the SAMP hub failed: ${JSON.stringify(found)}`);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${name}" from the SAMP hub within ${timeout} ms; it said ${JSON.stringify(this.events)}`);
      await new Promise<void>((wake) => {
        this.waiters.push(wake);
        setTimeout(wake, left);
      });
    }
  }

  /** Closing its standard input stops the client and the hub. */
  async stop() {
    this.process.stdin.end();
    await new Promise((resolve) => this.process.once("exit", resolve));
  }
}

async function runJob(page: Page, query: string, runId: string) {
  await page.goto(process.env.CORVUS_URL!);
  await expect(page.locator('#browser-tree details.schema[data-name="hip"]')).toBeVisible();
  await page.locator("#editor .cm-content").fill(query);
  await page.locator("#runid").fill(runId);
  await page.locator("#run-async").click();
  await expect(page.locator("#result-title")).toHaveText(`Job ${runId}`, { timeout: 30_000 });
}

test("a job's result reaches a SAMP client through the hub's Web Profile", async ({ page }) => {
  const hub = await Hub.start();
  try {
    await runJob(page, "SELECT hip, ra, dec, hpmag FROM hip.main WHERE hip <= 250", "e2e-samp");
    await page.getByRole("button", { name: "Send to TOPCAT/Aladin" }).click();
    await expect(page.locator(".notice")).toContainText("Sent to", { timeout: 30_000 });

    const consent = await hub.next("consent");
    // The hub asks the user about the page by the service's title.
    expect(consent.name).toBe("Corvus TAP service");
    const received = await hub.next("received");
    expect(received.mtype).toBe("table.load.votable");
    expect(received.name).toBe("Job e2e-samp");
    // The client fetched the table itself, without the page's cookie: the link's key opened it.
    expect(String(received.url)).toContain("key=");
    expect(received.rows).toBe(250);
    expect(received.columns).toEqual(["hip", "ra", "dec", "hpmag"]);
  } finally {
    await hub.stop();
  }
});

test("without a hub, the page says how to start one", async ({ page }) => {
  await runJob(page, "SELECT TOP 5 hip FROM hip.main", "e2e-nohub");
  await page.getByRole("button", { name: "Send to TOPCAT/Aladin" }).click();
  // The final message, not the "Sending…" one shown at once.
  await expect(page.locator(".notice")).toContainText("No SAMP hub answered at http://localhost:21012/: start TOPCAT or Aladin", { timeout: 30_000 });
});
