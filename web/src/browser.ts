/**
 * The table browser: schemas, tables and columns with their metadata,
 * filtered as the user types; a click on a name puts it in the editor. Each
 * table with a main position offers a cone-search form that writes the ADQL
 * for the user to see, edit and run.
 */

import { describeColumn } from "./adql";
import type { Schema, Table } from "./api";
import { count, h } from "./dom";

export interface BrowserActions {
  insert: (text: string) => void;
  /** Replace the editor's query (the cone form, "first rows"). */
  write: (query: string) => void;
}

export class TableBrowser {
  private schemas: Schema[] = [];

  constructor(
    private readonly tree: HTMLElement,
    search: HTMLInputElement,
    private readonly actions: BrowserActions,
  ) {
    search.addEventListener("input", () => this.filter(search.value));
  }

  show(schemas: Schema[]) {
    this.schemas = schemas;
    this.tree.replaceChildren(
      ...schemas.map((schema) =>
        h(
          "details",
          { class: "schema", open: !/^tap_schema$/i.test(schema.name), "data-name": schema.name },
          h("summary", {}, h("span", { class: "schema-name" }, schema.name), h("span", { class: "muted" }, ` ${schema.tables.length} tables`)),
          h("ul", { class: "tables" }, ...schema.tables.map((t) => this.table(t))),
        ),
      ),
    );
  }

  private table(t: Table): HTMLElement {
    const rows = t.rows != null ? `${count(t.rows)} rows` : "";
    const body = h(
      "div",
      { class: "table-body" },
      t.description ? h("p", { class: "description" }, t.description) : null,
      h(
        "div",
        { class: "table-actions" },
        h("button", { type: "button", onclick: () => this.actions.insert(t.qualified), title: `Insert ${t.qualified} in the query` }, "Insert name"),
        h("button", { type: "button", onclick: () => this.actions.write(`SELECT TOP 100 *\nFROM ${t.qualified}`) }, "First 100 rows"),
        t.position ? h("button", { type: "button", class: "cone-open", onclick: () => this.toggleCone(t, body) }, "Cone search…") : null,
      ),
      h(
        "ul",
        { class: "columns", "aria-label": `Columns of ${t.qualified}` },
        ...t.columns.map((c) =>
          h(
            "li",
            { "data-name": c.name, "data-search": [c.name, c.unit, c.ucd, c.description].join(" ").toLowerCase() },
            h(
              "button",
              { type: "button", class: "column", title: `Insert ${c.name}`, onclick: () => this.actions.insert(c.name) },
              h("span", { class: "column-name" }, c.name),
              c.unit ? h("span", { class: "unit" }, ` [${c.unit}]`) : null,
            ),
            h("div", { class: "column-meta muted" }, describeColumn(c)),
            c.description ? h("div", { class: "column-description" }, c.description) : null,
          ),
        ),
      ),
    );
    return h(
      "li",
      { class: "table", "data-name": t.qualified, "data-search": [t.qualified, t.description].join(" ").toLowerCase() },
      h(
        "details",
        {},
        h("summary", {}, h("span", { class: "table-name" }, t.name), h("span", { class: "muted" }, ` ${rows}`)),
        body,
      ),
    );
  }

  /** Shows (or hides) the cone-search form of table `t` under its actions. */
  private toggleCone(t: Table, body: HTMLElement) {
    const open = body.querySelector("form.cone");
    if (open) return open.remove();
    body.querySelector(".table-actions")?.after(coneForm(t, this.actions.write));
    body.querySelector<HTMLInputElement>("form.cone input")?.focus();
  }

  /** Shows only the tables and columns that match every word of `text`. */
  private filter(text: string) {
    const words = text.toLowerCase().split(/\s+/).filter(Boolean);
    const matches = (s: string | undefined) => words.every((w) => (s ?? "").includes(w));
    for (const schema of Array.from(this.tree.querySelectorAll<HTMLDetailsElement>("details.schema"))) {
      let anyTable = false;
      for (const table of Array.from(schema.querySelectorAll<HTMLElement>("li.table"))) {
        const tableMatches = matches(table.dataset.search);
        let anyColumn = false;
        for (const column of Array.from(table.querySelectorAll<HTMLElement>("ul.columns li"))) {
          const hit = !words.length || tableMatches || matches(column.dataset.search);
          column.hidden = !hit;
          anyColumn ||= words.length > 0 && !tableMatches && hit;
        }
        table.hidden = !(tableMatches || anyColumn);
        // Open the tables whose columns matched, so the user sees them.
        const details = table.querySelector("details");
        if (details && words.length) details.open = anyColumn;
        anyTable ||= !table.hidden;
      }
      schema.hidden = !anyTable;
      if (words.length && anyTable) schema.open = true;
    }
  }

  get tables(): Table[] {
    return this.schemas.flatMap((s) => s.tables);
  }
}

/** The ADQL of a cone search: rows within `radius` degrees of (ra, dec), nearest first. */
export function coneQuery(t: Table, ra: number, dec: number, radiusDeg: number): string {
  const pos = t.position;
  if (!pos) throw new Error(`${t.qualified} has no position`);
  const centre = `POINT(${ra}, ${dec})`;
  return [
    `SELECT *, DISTANCE(POINT(${pos.ra}, ${pos.dec}), ${centre}) AS dist`,
    `FROM ${t.qualified}`,
    `WHERE 1 = CONTAINS(POINT(${pos.ra}, ${pos.dec}), CIRCLE(${ra}, ${dec}, ${radiusDeg}))`,
    "ORDER BY dist",
  ].join("\n");
}

const RADIUS_UNITS: Record<string, number> = { arcsec: 1 / 3600, arcmin: 1 / 60, deg: 1 };

/** What is wrong with a cone's fields, for the user: null when nothing is. */
export function coneProblem(ra: number, dec: number, radius: number): string | null {
  if (!Number.isFinite(ra) || ra < 0 || ra > 360) return "RA must be a number of degrees from 0 to 360";
  if (!Number.isFinite(dec) || dec < -90 || dec > 90) return "Dec must be a number of degrees from −90 to 90";
  if (!Number.isFinite(radius) || radius <= 0) return "the radius must be a number greater than 0";
  if (radius > 180) return "the radius must be at most 180 degrees";
  return null;
}

function coneForm(t: Table, write: (query: string) => void): HTMLFormElement {
  const id = (name: string) => `cone-${t.qualified.replace(/\W/g, "_")}-${name}`;
  const field = (name: string, label: string, value: string) =>
    h("label", { for: id(name) }, label, h("input", { id: id(name), name, type: "text", inputmode: "decimal", value, required: true, autocomplete: "off" }));
  const problem = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "cone", "aria-label": `Cone search in ${t.qualified}` },
    field("ra", "RA (deg)", ""),
    field("dec", "Dec (deg)", ""),
    h(
      "div",
      { class: "radius" },
      field("radius", "Radius", "1"),
      h(
        "select",
        { name: "unit", "aria-label": "Radius unit" },
        ...Object.keys(RADIUS_UNITS).map((u) => h("option", { value: u, selected: u === "arcmin" }, u)),
      ),
    ),
    h("button", { type: "submit" }, "Write query"),
    problem,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const num = (k: string) => Number(String(data.get(k) ?? "").trim().replace(",", ".") || NaN);
    const [ra, dec] = [num("ra"), num("dec")];
    const radius = num("radius") * RADIUS_UNITS[String(data.get("unit"))];
    const why = coneProblem(ra, dec, radius);
    problem.textContent = why ?? "";
    if (!why) write(coneQuery(t, ra, dec, Number(radius.toPrecision(12))));
  });
  return form;
}
