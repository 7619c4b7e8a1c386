/**
 * Where a result's rows come from. A job's result stays on the server and
 * is read a page at a time (api/jobs/ID/rows), sorted there; a quick "run
 * now" answer is already in the page (TAP sync, at most MAXREC rows) and is
 * paged and sorted here. The grid, the plots and the downloads see only
 * this interface.
 */

import { type Column, type TapJson, type Window, downloadUrl, rows, syncUrl } from "./api";

/** Rows in a page until the user picks another size; the first page comes with a result's columns. */
export const FIRST_PAGE_ROWS = 50;


export interface RowSource {
  /** What the result is called in headings and file names. */
  readonly label: string;
  readonly columns: Column[];
  readonly total: number;
  /** True when MAXREC cut the result short (TAP 1.1 §2.7.4: OVERFLOW). */
  readonly overflow: boolean;
  page(w: Window): Promise<unknown[][]>;
  /** The values of some columns, for a plot: at most `limit` rows. */
  values(columns: string[], limit: number): Promise<unknown[][]>;
  downloadUrl(format: string): string;
  /** A URL another program (a SAMP hub's client) can fetch the VOTable from, without cookies. */
  readonly votableUrl: string | null;
}

/** A completed job's stored result, read from the server. */
export class JobResult implements RowSource {
  constructor(
    readonly label: string,
    private readonly jobId: string,
    readonly columns: Column[],
    readonly total: number,
    readonly overflow: boolean,
    readonly votableUrl: string | null,
  ) {}

  /** Opens job `id`'s result: its columns come with its first page, which the grid then shows. */
  static async open(id: string, label: string, overflow: boolean, votableUrl: string | null): Promise<{ source: JobResult; first: unknown[][] }> {
    const first = await rows(id, { offset: 0, limit: FIRST_PAGE_ROWS });
    const source = new JobResult(label, id, first.result.metadata, first.total, overflow, votableUrl);
    return { source, first: first.result.data };
  }

  async page(w: Window): Promise<unknown[][]> {
    return (await rows(this.jobId, w)).result.data;
  }

  async values(columns: string[], limit: number): Promise<unknown[][]> {
    return (await rows(this.jobId, { offset: 0, limit, columns })).result.data;
  }

  downloadUrl(format: string): string {
    return downloadUrl(this.jobId, format);
  }
}

/** A sync answer, held in the page. */
export class SyncResult implements RowSource {
  readonly columns: Column[];
  readonly total: number;
  readonly overflow: boolean;
  readonly votableUrl: string;
  private readonly data: unknown[][];
  private sorted: { key: string; rows: unknown[][] } | null = null;

  constructor(
    readonly label: string,
    answer: TapJson,
    private readonly query: string,
    private readonly maxrec: string,
  ) {
    this.columns = answer.metadata;
    this.data = answer.data;
    this.total = answer.data.length;
    this.overflow = answer.status === "OVERFLOW";
    this.votableUrl = syncUrl(query, maxrec, "votable");
  }

  async page(w: Window): Promise<unknown[][]> {
    return this.ordered(w.sort, w.descending).slice(w.offset, w.offset + w.limit);
  }

  async values(columns: string[], limit: number): Promise<unknown[][]> {
    const at = columns.map((c) => this.columns.findIndex((m) => m.name === c));
    return this.data.slice(0, limit).map((row) => at.map((i) => row[i]));
  }

  downloadUrl(format: string): string {
    return syncUrl(this.query, this.maxrec, format);
  }

  private ordered(sort: string | undefined, descending = false): unknown[][] {
    const i = sort ? this.columns.findIndex((c) => c.name === sort) : -1;
    if (i < 0) return this.data;
    const key = `${sort}:${descending}`;
    if (this.sorted?.key !== key) {
      // A stable sort (ties keep the answer's order); nulls last ascending
      // and first descending, as the server's ORDER BY puts them.
      const sign = descending ? -1 : 1;
      const rows = [...this.data].sort((a, b) => sign * compare(a[i], b[i]));
      this.sorted = { key, rows };
    }
    return this.sorted.rows;
  }
}

/** Orders two cells: numbers as numbers, anything else as text. */
export function compare(a: unknown, b: unknown): number {
  if (a == null || b == null) return a == null ? (b == null ? 0 : 1) : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (isInteger(a) && isInteger(b)) {
    const [x, y] = [BigInt(a), BigInt(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (isNumeric(a) && isNumeric(b)) return Number(a) - Number(b);
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return String(a).localeCompare(String(b));
}

/** An integer as JSON parsing left it: a BigInt beyond 2^53, a number below. */
const isInteger = (v: unknown): v is bigint | number => typeof v === "bigint" || Number.isInteger(v);
const isNumeric = (v: unknown): v is bigint | number => typeof v === "bigint" || typeof v === "number";
