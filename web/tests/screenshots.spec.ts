/**
 * The README's screenshots (docs/screenshots/), taken from the running demo
 * service: `npm run screenshots` in web/. Not part of the test run.
 */

import { expect, test } from "@playwright/test";
import { fileURLToPath } from "node:url";

const shot = (name: string) => fileURLToPath(new URL(`../../docs/screenshots/${name}.png`, import.meta.url));

test("screenshots of the main views @screenshots", async ({ page }) => {
  await page.setViewportSize({ width: 1366, height: 860 });
  await page.goto(process.env.CORVUS_URL!);
  const main = page.locator('li.table[data-name="hip.main"]');
  await expect(main).toBeVisible();

  // The table browser with a search and the cone form, and the query it writes.
  await page.locator("#browser-search").fill("magnitude");
  await main.getByRole("button", { name: "Cone search…" }).click();
  const form = main.getByRole("form", { name: "Cone search in hip.main" });
  await form.getByLabel("RA (deg)").fill("56.75");
  await form.getByLabel("Dec (deg)").fill("24.1167");
  await form.getByLabel("Radius", { exact: true }).fill("3");
  await form.getByLabel("Radius unit").selectOption("deg");
  await form.getByRole("button", { name: "Write query" }).click();
  await expect(page.locator("#check")).toContainText("Valid ADQL");
  await page.screenshot({ path: shot("browse-and-write") });

  // The result of the cone search (the Pleiades), with a sky plot.
  await page.locator("#run-sync").click();
  await expect(page.locator(".page-status")).toContainText("Rows 1–");
  await page.locator("#plot-kind").selectOption("scatter");
  await page.locator("#plot-x").selectOption("b_v");
  await page.locator("#plot-y").selectOption("hpmag");
  await page.locator("#plot-draw").click();
  await expect(page.locator("#plot")).toHaveAttribute("data-drawn", /\d+/);
  await page.locator("#panel-result").screenshot({ path: shot("result-and-plot") });

  // A whole-sky job and the job list.
  await page.locator("#editor .cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText("SELECT ra, dec, hpmag FROM hip.main WHERE hpmag < 6");
  await page.locator("#maxrec").fill("10000");
  await page.locator("#runid").fill("bright-stars");
  await page.locator("#run-async").click();
  await expect(page.locator("#result-title")).toHaveText("Job bright-stars", { timeout: 30_000 });
  await page.locator("#plot-kind").selectOption("sky");
  await page.locator("#plot-draw").click();
  await expect(page.locator("#plot")).toHaveAttribute("data-drawn", /\d+/);
  await page.locator("#plot").screenshot({ path: shot("sky-plot") });
  await page.getByRole("tab", { name: /Jobs/ }).click();
  await expect(page.locator("table.jobs")).toBeVisible();
  await page.screenshot({ path: shot("jobs") });
});
