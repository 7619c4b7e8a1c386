/**
 * The result panel: what the result is, the grid, downloads in every TAP
 * format, quick plots drawn in the browser, and "send to TOPCAT/Aladin"
 * over the SAMP Web Profile.
 */

import type { Column, Service } from "./api";
import { count, h } from "./dom";
import { ResultGrid } from "./grid";
import { type PlotColumn, drawHistogram, drawScatter, drawSky } from "./plots";
import { SampError, sendTable } from "./samp";
import type { RowSource } from "./source";

/** The most rows a plot reads (the rows endpoint's page limit). */
const PLOT_ROWS = 100_000;

export class ResultPanel {
  constructor(
    private readonly panel: HTMLElement,
    /** One live region outside the panel, so that screen readers hear each message once. */
    private readonly announce: HTMLElement,
    private readonly service: () => Service | null,
  ) {}

  /** A message in place of a result: running, failed, nothing yet. */
  message(text: string, kind: "info" | "error" | "busy" = "info") {
    this.panel.replaceChildren(h("p", { class: `message ${kind}` }, text));
    this.announce.textContent = text;
  }

  async show(source: RowSource, first?: unknown[][]) {
    this.announce.textContent = `${source.label}: ${count(source.total)} rows`;
    const notice = h("p", { class: "notice", role: "status", "aria-live": "polite" });
    const grid = new ResultGrid(source, (m) => (notice.textContent = m));
    const summary = h(
      "div",
      { class: "result-head" },
      h("h2", { id: "result-title", tabindex: -1 }, source.label),
      h("span", { class: "result-count" }, `${count(source.total)} ${source.total === 1 ? "row" : "rows"}`),
      source.overflow ? h("span", { class: "overflow", title: "MAXREC cut the result short (TAP OVERFLOW)" }, "truncated by the row limit") : null,
    );
    this.panel.replaceChildren(
      summary,
      h("div", { class: "result-tools" }, this.downloads(source), this.samp(source, notice)),
      notice,
      grid.element,
      this.plots(source, notice),
    );
    await grid.start(first);
  }

  private downloads(source: RowSource): HTMLElement {
    const formats = this.service()?.formats ?? [{ mime: "application/x-votable+xml", name: "votable", extension: "vot" }];
    const select = h(
      "select",
      { id: "download-format", "aria-label": "Download format" },
      ...formats.map((f) => h("option", { value: f.name }, `${f.name} (.${f.extension})`)),
    );
    // A job's download names itself (Content-Disposition); a quick result's
    // comes from /tap/sync, which does not, so the link names it.
    const name = (i: number) => `corvus-result.${formats[i].extension}`;
    const link = h("a", { id: "download", class: "button", href: source.downloadUrl(formats[0].name), download: name(0) }, "Download");
    select.addEventListener("change", () => {
      link.href = source.downloadUrl(select.value);
      link.download = name(select.selectedIndex);
    });
    return h("div", { class: "group" }, select, link);
  }

  private samp(source: RowSource, notice: HTMLElement): HTMLElement {
    const button = h("button", { type: "button", id: "samp-send", title: "Send the table to TOPCAT, Aladin or another SAMP tool on this computer" }, "Send to TOPCAT/Aladin");
    button.addEventListener("click", async () => {
      if (!source.votableUrl) return;
      button.disabled = true;
      notice.textContent = "Sending over SAMP… (answer the hub's dialog if it asks)";
      try {
        const to = await sendTable(source.votableUrl, source.label, { appName: this.service()?.title || "Corvus" });
        notice.textContent = `Sent to ${to.join(", ")}.`;
      } catch (e) {
        notice.textContent = e instanceof SampError ? e.message : `SAMP failed: ${(e as Error).message}`;
      } finally {
        button.disabled = false;
      }
    });
    if (!source.votableUrl) button.disabled = true;
    return button;
  }

  private plots(source: RowSource, notice: HTMLElement): HTMLElement {
    const numeric = source.columns.filter(isNumeric);
    const pick = (id: string, label: string, preferred: (c: Column) => boolean, fallback: number) => {
      const choice = numeric.find(preferred) ?? numeric[Math.min(fallback, numeric.length - 1)];
      return h(
        "label",
        { for: id },
        label,
        h("select", { id }, ...numeric.map((c) => h("option", { value: c.name, selected: c === choice }, c.name + (c.unit ? ` [${c.unit}]` : "")))),
      );
    };
    const ra = (c: Column) => /^pos\.eq\.ra/.test(c.ucd ?? "") || /^ra$/i.test(c.name);
    const dec = (c: Column) => /^pos\.eq\.dec/.test(c.ucd ?? "") || /^(dec|de)$/i.test(c.name);
    const kind = h(
      "select",
      { id: "plot-kind" },
      h("option", { value: "histogram" }, "Histogram"),
      h("option", { value: "scatter" }, "Scatter"),
      h("option", { value: "sky", selected: numeric.some(ra) && numeric.some(dec) }, "Sky (Hammer–Aitoff)"),
    );
    const checkbox = (id: string, label: string) => h("label", { class: "check-label" }, h("input", { id, type: "checkbox" }), label);
    const fields = h(
      "div",
      { class: "plot-fields" },
      h("label", { for: "plot-kind" }, "Plot", kind),
      pick("plot-x", "X / RA", ra, 0),
      pick("plot-y", "Y / Dec", dec, 1),
      checkbox("plot-logx", "log X"),
      checkbox("plot-logy", "log Y"),
      h("button", { type: "submit", id: "plot-draw" }, "Draw"),
    );
    const canvas = h("canvas", { id: "plot", class: "plot", role: "img", "aria-label": "No plot drawn yet" });
    const caption = h("p", { class: "plot-caption muted", "aria-live": "polite" });
    const form = h("form", { class: "plots", "aria-label": "Quick plot" }, h("h3", {}, "Quick plot"), fields, canvas, caption);
    if (!numeric.length) {
      fields.replaceChildren(h("p", { class: "muted" }, "The result has no numeric column to plot."));
      return form;
    }
    const value = (id: string) => (form.querySelector(`#${id}`) as HTMLSelectElement | HTMLInputElement);
    const sync = () => {
      const k = kind.value;
      value("plot-y").closest("label")!.hidden = k === "histogram";
      value("plot-logx").closest("label")!.hidden = k !== "scatter";
      value("plot-logy").closest("label")!.hidden = k === "sky";
    };
    kind.addEventListener("change", sync);
    sync();
    const draw = form.querySelector<HTMLButtonElement>("#plot-draw");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (draw) draw.disabled = true;
      const k = kind.value;
      const [x, y] = [value("plot-x").value, value("plot-y").value];
      const logX = (value("plot-logx") as HTMLInputElement).checked;
      const logY = (value("plot-logy") as HTMLInputElement).checked;
      const names = k === "histogram" ? [x] : [x, y];
      caption.textContent = "Reading the columns…";
      try {
        const rows = await source.values(names, PLOT_ROWS);
        const column = (i: number): PlotColumn => {
          const meta = source.columns.find((c) => c.name === names[i]);
          return { name: names[i], unit: meta?.unit, values: rows.map((r) => plotValue(r[i])) };
        };
        const drawn =
          k === "histogram"
            ? drawHistogram(canvas, column(0), { logY })
            : k === "scatter"
              ? drawScatter(canvas, column(0), column(1), { logX, logY })
              : drawSky(canvas, column(0), column(1));
        const partial = source.total > rows.length ? ` (the first ${count(rows.length)} of ${count(source.total)} rows)` : "";
        caption.textContent = `${count(drawn.drawn)} values drawn${drawn.skipped ? `, ${count(drawn.skipped)} left out (null, or not positive on a log axis)` : ""}${partial}.`;
      } catch (err) {
        caption.textContent = "";
        canvas.setAttribute("aria-label", "No plot drawn");
        canvas.removeAttribute("data-drawn");
        notice.textContent = `The plot could not be drawn: ${(err as Error).message}`;
      } finally {
        if (draw) draw.disabled = false;
      }
    });
    return form;
  }
}

/** A cell as a plot reads it: numbers, integers beyond 2^53 (BigInt) as the nearest double, anything else none. */
const plotValue = (v: unknown): number | null => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null);

const NUMERIC = /^(short|int|long|float|double|unsignedByte)$/;
const isNumeric = (c: Column) => NUMERIC.test(c.datatype) && !c.arraysize;
