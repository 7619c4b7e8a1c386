/** Small DOM helpers: elements built in one expression, text never parsed as HTML. */

type Attributes = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;
type Child = Node | string | null | undefined | false;

/** `h("button", {class: "x", onclick: f}, "Label")`: attributes, `on*` listeners, children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children) if (child != null && child !== false) el.append(child);
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** A byte count as people read it: 1.2 MB. */
export function bytes(n: number | null | undefined): string {
  if (n == null) return "";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  // Rounded first, so that 999,999 bytes read "1.0 MB", not "1000 kB".
  while (i < units.length - 1 && Number(v.toFixed(v < 10 ? 1 : 0)) >= 1000) {
    v /= 1000;
    i++;
  }
  return `${i ? v.toFixed(v < 10 ? 1 : 0) : v} ${units[i]}`;
}

/** A count with thousands separated: 482,113. */
export const count = (n: number | null | undefined) => (n == null ? "" : n.toLocaleString("en"));

/** A time of day (local), or a date and time when not today. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const t = new Date(iso);
  const today = new Date().toDateString() === t.toDateString();
  return today ? t.toLocaleTimeString("en-GB") : t.toLocaleString("en-GB");
}

/** How long from `start` to `end` (or now): 850 ms, 12.3 s, 4 min 5 s. */
export function duration(start: string | null | undefined, end: string | null | undefined): string {
  if (!start) return "";
  const ms = (end ? new Date(end) : new Date()).getTime() - new Date(start).getTime();
  if (ms < 1000) return `${Math.max(ms, 0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
