/**
 * The result grid: one page of rows at a time from a RowSource, sorted by
 * any column (click or Enter on its header), headers that carry the unit and
 * the description, and a pager. Keyboard: Tab reaches the headers and the
 * pager; in the table, PageDown/PageUp turn pages and Home/End go to the
 * first and last.
 */

import type { Column } from "./api";
import { count, h } from "./dom";
import { FIRST_PAGE_ROWS, type RowSource } from "./source";

const PAGE_SIZES = [25, 50, 100, 500];

export class ResultGrid {
  readonly element: HTMLElement;
  private offset = 0;
  private limit = FIRST_PAGE_ROWS;
  private sort: string | undefined;
  private descending = false;
  private readonly table: HTMLTableElement;
  private readonly status: HTMLElement;
  private readonly pager: HTMLElement;
  /** Only the newest request may draw: pages can come back out of order. */
  private generation = 0;

  constructor(
    private readonly source: RowSource,
    private readonly onError: (message: string) => void,
  ) {
    this.table = h("table", { class: "grid", tabindex: 0, "aria-label": `Rows of ${source.label}` });
    this.table.addEventListener("keydown", (e) => this.key(e));
    this.status = h("span", { class: "page-status", "aria-live": "polite" });
    this.pager = this.buildPager();
    this.element = h("div", { class: "grid-wrap" }, h("div", { class: "grid-scroll" }, this.table), this.pager);
    this.renderHead();
  }

  /** Shows the first page (or `rows` when the caller already has it). */
  async start(rows?: unknown[][]) {
    if (rows && rows.length >= Math.min(this.limit, this.source.total)) this.renderBody(rows.slice(0, this.limit));
    else await this.load();
  }

  private buildPager(): HTMLElement {
    const button = (label: string, name: string, go: () => number) =>
      h("button", { type: "button", "data-page": name, "aria-label": label, onclick: () => this.go(go()) }, label);
    const size = h(
      "select",
      { "aria-label": "Rows per page", class: "page-size" },
      ...PAGE_SIZES.map((n) => h("option", { value: n, selected: n === this.limit }, `${n} rows`)),
    );
    size.addEventListener("change", () => {
      this.limit = Number(size.value);
      this.go(Math.floor(this.offset / this.limit) * this.limit);
    });
    return h(
      "div",
      { class: "pager", role: "navigation", "aria-label": "Result pages" },
      button("First", "first", () => 0),
      button("Previous", "previous", () => this.offset - this.limit),
      this.status,
      button("Next", "next", () => this.offset + this.limit),
      button("Last", "last", () => this.lastOffset()),
      size,
    );
  }

  private lastOffset(): number {
    return Math.max(0, Math.floor((this.source.total - 1) / this.limit) * this.limit);
  }

  private go(offset: number) {
    const clamped = Math.min(Math.max(0, offset), this.lastOffset());
    if (clamped === this.offset && this.table.tBodies.length) return;
    this.offset = clamped;
    void this.load();
  }

  private key(e: KeyboardEvent) {
    const moves: Record<string, () => number> = {
      PageDown: () => this.offset + this.limit,
      PageUp: () => this.offset - this.limit,
      Home: () => 0,
      End: () => this.lastOffset(),
    };
    const move = moves[e.key];
    if (move && e.target === this.table) {
      e.preventDefault();
      this.go(move());
    }
  }

  private renderHead() {
    const cells = this.source.columns.map((c) => {
      const sorted = this.sort === c.name;
      const state = sorted ? (this.descending ? "descending" : "ascending") : "none";
      return h(
        "th",
        { scope: "col", "aria-sort": state, title: headerTitle(c) },
        h(
          "button",
          { type: "button", class: "sort", "data-column": c.name, onclick: () => this.sortBy(c.name) },
          h("span", { class: "column-name" }, c.name),
          h("span", { class: "sort-mark", "aria-hidden": "true" }, sorted ? (this.descending ? " ▼" : " ▲") : ""),
        ),
        c.unit ? h("div", { class: "unit" }, c.unit) : null,
      );
    });
    this.table.tHead?.remove();
    this.table.createTHead().append(h("tr", {}, ...cells));
  }

  /** Ascending, then descending, then back to the result's own order. */
  private sortBy(name: string) {
    if (this.sort !== name) [this.sort, this.descending] = [name, false];
    else if (!this.descending) this.descending = true;
    else [this.sort, this.descending] = [undefined, false];
    this.offset = 0;
    this.renderHead();
    // The header was rebuilt: give the focus back to the button just pressed.
    this.table.querySelector<HTMLButtonElement>(`button[data-column="${CSS.escape(name)}"]`)?.focus();
    void this.load();
  }

  private async load() {
    const generation = ++this.generation;
    this.element.setAttribute("aria-busy", "true");
    try {
      const rows = await this.source.page({ offset: this.offset, limit: this.limit, sort: this.sort, descending: this.descending });
      if (generation === this.generation) this.renderBody(rows);
    } catch (e) {
      if (generation === this.generation) this.onError((e as Error).message);
    } finally {
      if (generation === this.generation) this.element.removeAttribute("aria-busy");
    }
  }

  private renderBody(rows: unknown[][]) {
    const body = h("tbody", {}, ...rows.map((row) => h("tr", {}, ...row.map(cellOf))));
    this.table.tBodies[0]?.remove();
    this.table.append(body);
    const total = this.source.total;
    const last = Math.min(this.offset + rows.length, total);
    this.status.textContent = total ? `Rows ${count(this.offset + 1)}–${count(last)} of ${count(total)}` : "No rows";
    for (const b of Array.from(this.pager.querySelectorAll<HTMLButtonElement>("button"))) {
      const back = b.dataset.page === "first" || b.dataset.page === "previous";
      const disabled = back ? this.offset === 0 : last >= total;
      // A disabled button drops the keyboard's focus: move it to the rows.
      if (disabled && document.activeElement === b) this.table.focus();
      b.disabled = disabled;
    }
  }
}

function headerTitle(c: Column): string {
  return [c.description, [c.datatype, c.unit && `unit ${c.unit}`, c.ucd && `UCD ${c.ucd}`].filter(Boolean).join(", ")].filter(Boolean).join("\n");
}

/** A cell as text (numbers exactly as the service sent them, right-aligned); nulls empty and marked. */
function cellOf(value: unknown): HTMLTableCellElement {
  if (value == null) return h("td", { class: "null" });
  if (typeof value === "number" || typeof value === "bigint") return h("td", { class: "num" }, String(value));
  if (Array.isArray(value)) return h("td", {}, `(${value.join(", ")})`);
  return h("td", {}, String(value));
}
