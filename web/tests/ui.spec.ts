/**
 * The web interface as an astronomer uses it, in headless Chromium against
 * the real corvus binary serving the demo catalog (Hipparcos, hip.main):
 * browse, write with completion, see errors underlined, run now and as a
 * job, page and sort, plot, download, abort, delete, edit as new.
 */

import { type Locator, type Page, expect, test } from "@playwright/test";
import { readFile } from "node:fs/promises";

const url = () => {
  const u = process.env.CORVUS_URL;
  if (!u) throw new Error("CORVUS_URL is not set: the global setup did not start corvus");
  return u;
};

/** The nested-loop self-join the Python suite also uses: minutes of work, aborted by the test. */
const SLOW =
  "SELECT COUNT(*) AS n FROM hip.main AS a JOIN hip.main AS b " +
  "ON 1 = INTERSECTS(CIRCLE('ICRS', a.ra, a.dec, 0.001), CIRCLE('ICRS', b.ra, b.dec, 0.001))";

async function open(page: Page) {
  await page.goto(url());
  // The tables have loaded once the demo schema is in the browser.
  await expect(page.locator('#browser-tree details.schema[data-name="hip"]')).toBeVisible();
}

const editor = (page: Page) => page.locator("#editor .cm-content");

/**
 * Replaces the query as a user would: select all, delete, paste. (Pasting
 * over a selection of several lines leaves Chromium's trailing line break
 * in the editor, and `fill` adds one too.)
 */
async function setQuery(page: Page, query: string) {
  await editor(page).click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  if (query) await page.keyboard.insertText(query);
}

/** The grid's cells of column `name`, as text, on the page shown. */
async function columnValues(page: Page, name: string): Promise<string[]> {
  const headers = await page.locator("table.grid thead th button.sort").evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.column));
  const index = headers.indexOf(name);
  expect(index, `the grid has a column ${name}`).toBeGreaterThanOrEqual(0);
  return page.locator(`table.grid tbody tr td:nth-child(${index + 1})`).allInnerTexts();
}

const numbers = (texts: string[]) => texts.map(Number);
const isSorted = (xs: number[], descending = false) => xs.every((x, i) => i === 0 || (descending ? xs[i - 1] >= x : xs[i - 1] <= x));

function jobRow(page: Page, runId: string): Locator {
  return page.locator("table.jobs tbody tr", { has: page.locator(".job-name", { hasText: runId }) });
}

test("the page describes the service and its tables, searchably; a click puts a name in the query", async ({ page }) => {
  await open(page);
  await expect(page.locator("#service-title")).not.toBeEmpty();
  const main = page.locator('li.table[data-name="hip.main"]');
  await expect(main).toContainText("117,955 rows");

  await page.locator("#browser-search").fill("parallax");
  const plx = main.locator('ul.columns li[data-name="plx"]');
  await expect(plx).toBeVisible();
  await expect(plx).toContainText("[mas]");
  await expect(main.locator('ul.columns li[data-name="hpmag"]')).toBeHidden();
  await expect(page.locator('li.table[data-name="TAP_SCHEMA.columns"]')).toBeHidden();

  await setQuery(page, "SELECT ");
  await editor(page).press("Control+End");
  await plx.locator("button.column").click();
  await expect(editor(page)).toHaveText("SELECT plx");
});

test("completion offers tables, then columns with their units", async ({ page }) => {
  await open(page);
  await setQuery(page, "SELECT TOP 3 * FROM hip.");
  await editor(page).press("Control+End");
  await page.keyboard.type("ma");
  const popup = page.locator(".cm-tooltip-autocomplete");
  const table = popup.getByRole("option", { name: /main/ });
  await expect(table).toContainText("117,955 rows");
  await table.click();
  await expect(editor(page)).toHaveText("SELECT TOP 3 * FROM hip.main");

  await page.keyboard.type(" WHERE hpm");
  const option = popup.getByRole("option", { name: /^hpmag/ });
  await expect(option).toContainText("[mag]");
  // The selected column's description shows beside the list.
  await expect(page.locator(".cm-completionInfo")).toContainText("Hipparcos magnitude");
  await option.click();
  await expect(editor(page)).toHaveText("SELECT TOP 3 * FROM hip.main WHERE hpmag");
});

test("a wrong name is underlined where it stands, with the server's message", async ({ page }) => {
  await open(page);
  await setQuery(page, "SELECT TOP 3 hip,\n  nosuch\nFROM hip.main");
  const underline = page.locator(".cm-lintRange-error");
  await expect(underline).toHaveText("nosuch");
  await expect(page.locator("#check")).toContainText("Line 2, column 3");
  await expect(page.locator("#check")).toContainText("nosuch");

  await setQuery(page, "SELECT TOP 3 hip FROM hip.main");
  await expect(page.locator("#check")).toContainText("Valid ADQL: 1 columns");
  await expect(underline).toHaveCount(0);
});

test("run now: the answer pages and sorts in the grid, by mouse and keyboard", async ({ page }) => {
  await open(page);
  await setQuery(page, "SELECT TOP 120 hip, hpmag FROM hip.main ORDER BY hip");
  await editor(page).press("Control+Enter");
  const status = page.locator(".page-status");
  await expect(status).toHaveText("Rows 1–50 of 120");
  expect(numbers(await columnValues(page, "hip")).slice(0, 3)).toEqual([1, 2, 3]);

  await page.getByRole("button", { name: "Next" }).click();
  await expect(status).toHaveText("Rows 51–100 of 120");
  await page.locator("table.grid").focus();
  await page.keyboard.press("PageDown");
  await expect(status).toHaveText("Rows 101–120 of 120");
  await page.keyboard.press("Home");
  await expect(status).toHaveText("Rows 1–50 of 120");

  const header = page.locator("table.grid th", { has: page.locator('[data-column="hpmag"]') });
  await header.getByRole("button").click();
  await expect(header).toHaveAttribute("aria-sort", "ascending");
  expect(isSorted(numbers(await columnValues(page, "hpmag")))).toBe(true);
  await header.getByRole("button").click();
  await expect(header).toHaveAttribute("aria-sort", "descending");
  expect(isSorted(numbers(await columnValues(page, "hpmag")), true)).toBe(true);
});

test("integers beyond 2^53 (Gaia's source_id has 19 digits) show to the last digit, and sort exactly", async ({ page }) => {
  await open(page);
  await setQuery(page, "SELECT TOP 3 hip, 9007199254740992 + hip AS big FROM hip.main ORDER BY hip");
  await page.locator("#run-sync").click();
  await expect(page.locator(".page-status")).toHaveText("Rows 1–3 of 3");
  expect(await columnValues(page, "big")).toEqual(["9007199254740993", "9007199254740994", "9007199254740995"]);
  const header = page.locator("table.grid th", { has: page.locator('[data-column="big"]') });
  await header.getByRole("button").click();
  await header.getByRole("button").click();
  await expect(header).toHaveAttribute("aria-sort", "descending");
  expect(await columnValues(page, "big")).toEqual(["9007199254740995", "9007199254740994", "9007199254740993"]);
});

test("a job: the server pages and sorts its stored result; it plots and downloads", async ({ page }) => {
  await open(page);
  await setQuery(page, "SELECT hip, ra, dec, plx, hpmag FROM hip.main WHERE hip <= 3000 ORDER BY hip");
  await page.locator("#maxrec").fill("5000");
  await page.locator("#runid").fill("e2e-job");
  await page.locator("#run-async").click();
  await expect(page.locator("#result-title")).toHaveText("Job e2e-job", { timeout: 30_000 });
  const total = Number((await page.locator(".result-count").innerText()).replace(/\D/g, ""));
  expect(total).toBeGreaterThan(2900);
  await expect(page.locator(".page-status")).toHaveText(`Rows 1–50 of ${total.toLocaleString("en")}`);

  // Sorting asks the server (never the whole table in the browser).
  const header = page.locator("table.grid th", { has: page.locator('[data-column="plx"]') });
  await header.getByRole("button").click();
  await expect(page.locator(".grid-wrap")).not.toHaveAttribute("aria-busy", "true");
  const answered = page.waitForResponse((r) => r.url().includes("/rows?") && r.url().includes("sort=plx") && r.url().includes("order=desc"));
  await header.getByRole("button").click();
  expect((await answered).status()).toBe(200);
  await expect(header).toHaveAttribute("aria-sort", "descending");
  await expect(page.locator(".grid-wrap")).not.toHaveAttribute("aria-busy", "true");
  const plx = numbers(await columnValues(page, "plx"));
  expect(plx).toHaveLength(50);
  expect(isSorted(plx, true)).toBe(true);
  // The sort button keeps the keyboard's focus after the header is redrawn.
  await expect(header.getByRole("button")).toBeFocused();
  await page.getByRole("button", { name: "Last" }).click();
  const lastFirst = Math.floor((total - 1) / 50) * 50 + 1;
  await expect(page.locator(".page-status")).toHaveText(`Rows ${lastFirst.toLocaleString("en")}–${total.toLocaleString("en")} of ${total.toLocaleString("en")}`);

  // Each plot, drawn from the columns the server sends.
  const canvas = page.locator("#plot");
  await page.locator("#plot-kind").selectOption("histogram");
  await page.locator("#plot-x").selectOption("hpmag");
  await page.locator("#plot-draw").click();
  await expect(canvas).toHaveAttribute("aria-label", /^Histogram of hpmag/);
  await expect(canvas).toHaveAttribute("data-drawn", String(total));

  await page.locator("#plot-kind").selectOption("scatter");
  await page.locator("#plot-x").selectOption("plx");
  await page.locator("#plot-y").selectOption("hpmag");
  await page.locator("#plot-logx").check();
  await page.locator("#plot-draw").click();
  await expect(canvas).toHaveAttribute("aria-label", /^Scatter plot of hpmag/);
  // Non-positive parallaxes cannot sit on a log axis: drawn + left out = all rows.
  const drawn = Number(await canvas.getAttribute("data-drawn"));
  expect(drawn).toBeGreaterThan(total / 2);
  await expect(page.locator(".plot-caption")).toContainText(`${(total - drawn).toLocaleString("en")} left out`);

  await page.locator("#plot-kind").selectOption("sky");
  await page.locator("#plot-x").selectOption("ra");
  await page.locator("#plot-y").selectOption("dec");
  await page.locator("#plot-draw").click();
  await expect(canvas).toHaveAttribute("aria-label", /^Sky map of ra and dec in the Hammer–Aitoff projection/);
  await expect(canvas).toHaveAttribute("data-drawn", String(total));

  // The download is the whole stored result, in the chosen format.
  await page.locator("#download-format").selectOption("csv");
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download").click()]);
  expect(download.suggestedFilename()).toBe("corvus-e2e-job.csv");
  const lines = (await readFile(await download.path(), "utf8")).trim().split(/\r?\n/);
  expect(lines[0]).toBe("hip,ra,dec,plx,hpmag");
  expect(lines).toHaveLength(total + 1);
  // In the query's order: sorting in the grid is a view, not a change of the result.
  expect(lines[1].split(",")[0]).toBe("1");

  // The job list shows it, done, with its rows.
  await page.getByRole("tab", { name: /Jobs/ }).click();
  const row = jobRow(page, "e2e-job");
  await expect(row).toHaveAttribute("data-phase", "COMPLETED");
  await expect(row).toContainText(total.toLocaleString("en"));
});

test("a new user's walk: find a column, cone-search from the form, plot it on the sky, download it", async ({ page }) => {
  await open(page);
  await page.locator("#browser-search").fill("magnitude");
  const main = page.locator('li.table[data-name="hip.main"]');
  await expect(main.locator('ul.columns li[data-name="hpmag"]')).toBeVisible();

  await main.getByRole("button", { name: "Cone search…" }).click();
  const form = main.getByRole("form", { name: "Cone search in hip.main" });
  // Bad input is named, not sent.
  await form.getByLabel("RA (deg)").fill("400");
  await form.getByLabel("Dec (deg)").fill("-16.7161");
  await form.getByRole("button", { name: "Write query" }).click();
  await expect(form.getByRole("alert")).toHaveText("RA must be a number of degrees from 0 to 360");

  // Sirius, 2 degrees around.
  await form.getByLabel("RA (deg)").fill("101.2872");
  await form.getByLabel("Radius", { exact: true }).fill("2");
  await form.getByLabel("Radius unit").selectOption("deg");
  await form.getByRole("button", { name: "Write query" }).click();
  await expect(editor(page)).toContainText("CIRCLE(101.2872, -16.7161, 2)");
  await page.locator("#run-sync").click();
  await expect(page.locator(".page-status")).toContainText("Rows 1–");
  const dist = numbers(await columnValues(page, "dist"));
  expect(dist.every((d) => d <= 2)).toBe(true);
  expect(isSorted(dist)).toBe(true);
  const total = Number((await page.locator(".result-count").innerText()).replace(/\D/g, ""));

  await page.locator("#plot-kind").selectOption("sky");
  await page.locator("#plot-draw").click();
  await expect(page.locator("#plot")).toHaveAttribute("data-drawn", String(total));

  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download").click()]);
  const votable = await readFile(await download.path(), "utf8");
  expect(votable).toContain("<VOTABLE");
  expect(votable).toContain('name="dist"');
  expect(votable).toContain('<INFO name="QUERY_STATUS" value="OK"');
});

test("a running job can be aborted, edited as a new query, and deleted", async ({ page }) => {
  await open(page);
  await setQuery(page, SLOW);
  await page.locator("#runid").fill("e2e-slow");
  await page.locator("#run-async").click();
  await expect(page.locator("#panel-result")).toContainText("Job e2e-slow submitted");

  await page.getByRole("tab", { name: /Jobs/ }).click();
  const row = jobRow(page, "e2e-slow");
  await expect(row).toHaveAttribute("data-phase", /QUEUED|EXECUTING/);
  await row.getByRole("button", { name: "Abort job e2e-slow" }).click();
  await expect(row).toHaveAttribute("data-phase", "ABORTED");
  await expect(row.getByRole("button", { name: /^View/ })).toBeDisabled();

  await setQuery(page, "");
  await row.getByRole("button", { name: "Edit as new job e2e-slow" }).click();
  await expect(editor(page)).toHaveText(SLOW);

  await row.getByRole("button", { name: "Delete job e2e-slow" }).click();
  await expect(row).toHaveCount(0);
});

test("another browser sees none of this browser's jobs", async ({ page, browser }) => {
  await open(page);
  await setQuery(page, "SELECT TOP 1 hip FROM hip.main");
  await page.locator("#runid").fill("e2e-mine");
  await page.locator("#run-async").click();
  await expect(page.locator("#result-title")).toHaveText("Job e2e-mine", { timeout: 30_000 });

  const other = await browser.newContext();
  const stranger = await other.newPage();
  await open(stranger);
  await stranger.getByRole("tab", { name: /Jobs/ }).click();
  await expect(stranger.locator("#panel-jobs")).toContainText("No jobs yet");
  await other.close();
});
