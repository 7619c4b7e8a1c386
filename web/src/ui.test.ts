import { describe, expect, it } from "vitest";
import { offsetOf, spanAt, describeColumn, namespace } from "./adql";
import type { Table } from "./api";
import { coneProblem, coneQuery } from "./browser";
import { bytes, duration } from "./dom";
import { SyncResult, compare } from "./source";

const table: Table = {
  name: "main",
  qualified: "hip.main",
  rows: 3,
  position: { ra: "ra", dec: "dec" },
  columns: [
    { name: "hip", datatype: "int" },
    { name: "ra", datatype: "double", unit: "deg", ucd: "pos.eq.ra;meta.main", description: "Right ascension" },
  ],
};

describe("positions from the server", () => {
  const text = "SELECT x\nFROM  hip.main\nWHERE";
  it("maps 1-based line and column to an offset", () => {
    expect(offsetOf(text, 1, 1)).toBe(0);
    expect(offsetOf(text, 1, 8)).toBe(7);
    expect(text.slice(offsetOf(text, 2, 7))).toMatch(/^hip\.main/);
  });
  it("clamps positions outside the text", () => {
    expect(offsetOf(text, 9, 1)).toBe(text.lastIndexOf("\n") + 1);
    expect(offsetOf(text, 1, 99)).toBe(8);
    expect(offsetOf(text, 0, 0)).toBe(0);
  });
  it("underlines the word, the string or one character there", () => {
    expect(spanAt(text, offsetOf(text, 2, 7))).toEqual({ from: 15, to: 23 });
    expect(spanAt("a = 'x y'", 4)).toEqual({ from: 4, to: 9 });
    expect(spanAt("a = (", 4)).toEqual({ from: 4, to: 5 });
    expect(spanAt("abc", 3)).toEqual({ from: 2, to: 3 });
  });
});

describe("completion names", () => {
  it("nests schemas, tables and columns with units and descriptions", () => {
    const ns = namespace([{ name: "hip", tables: [table] }]) as Record<string, any>;
    const main = ns.hip.children.main;
    expect(main.self.detail).toBe("3 rows");
    expect(main.children[1]).toMatchObject({ label: "ra", detail: "[deg]" });
    expect(main.children[1].info).toContain("Right ascension");
    expect(describeColumn(table.columns[1])).toBe("double · deg · pos.eq.ra;meta.main");
  });
});

describe("the cone form", () => {
  it("writes a cone search on the table's main position", () => {
    const q = coneQuery(table, 10.5, -3.25, 0.1);
    expect(q).toContain("FROM hip.main");
    expect(q).toContain("WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(10.5, -3.25, 0.1))");
    expect(q).toContain("ORDER BY dist");
  });
  it("names what is wrong with its fields", () => {
    expect(coneProblem(10, 20, 0.1)).toBeNull();
    expect(coneProblem(361, 0, 1)).toMatch(/RA/);
    expect(coneProblem(NaN, 0, 1)).toMatch(/RA/);
    expect(coneProblem(0, -91, 1)).toMatch(/Dec/);
    expect(coneProblem(0, 0, 0)).toMatch(/radius/);
    expect(coneProblem(0, 0, 181)).toMatch(/180/);
  });
});

describe("a sync result held in the page", () => {
  const answer = {
    metadata: [{ name: "id", datatype: "int" }, { name: "mag", datatype: "double" }],
    data: [[1, 5.5], [2, null], [3, 1.25], [4, 5.5], [5, 9]],
    status: "OVERFLOW",
  };
  const result = new SyncResult("r", answer, "SELECT id, mag FROM t", "5");
  it("pages and sorts, ties stable, nulls last ascending and first descending", async () => {
    expect(result.overflow).toBe(true);
    expect((await result.page({ offset: 3, limit: 10 })).map((r) => r[0])).toEqual([4, 5]);
    expect((await result.page({ offset: 0, limit: 10, sort: "mag" })).map((r) => r[0])).toEqual([3, 1, 4, 5, 2]);
    expect((await result.page({ offset: 0, limit: 10, sort: "mag", descending: true })).map((r) => r[0])).toEqual([2, 5, 1, 4, 3]);
  });
  it("reads columns for plots and makes download URLs of the same query", async () => {
    expect(await result.values(["mag"], 2)).toEqual([[5.5], [null]]);
    const url = new URL(result.downloadUrl("csv"));
    expect(url.pathname).toBe("/tap/sync");
    expect(url.searchParams.get("QUERY")).toBe("SELECT id, mag FROM t");
    expect(url.searchParams.get("RESPONSEFORMAT")).toBe("csv");
    expect(url.searchParams.get("MAXREC")).toBe("5");
  });
  it("orders numbers as numbers and text as text", () => {
    expect([10, 9, 100].sort(compare)).toEqual([9, 10, 100]);
    expect(["b", "a"].sort(compare)).toEqual(["a", "b"]);
  });
});

describe("numbers for people", () => {
  it("reads sizes and durations", () => {
    expect(bytes(999)).toBe("999 B");
    expect(bytes(1_234_567)).toBe("1.2 MB");
    expect(duration("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.850Z")).toBe("850 ms");
    expect(duration("2026-01-01T00:00:00Z", "2026-01-01T00:02:05Z")).toBe("2 min 5 s");
  });
});

describe("integers beyond 2^53", () => {
  it("order exactly, as BigInt, among themselves and with small numbers", () => {
    const big = [9007199254740993n, 9007199254740992n, 5];
    expect([...big].sort(compare)).toEqual([5, 9007199254740992n, 9007199254740993n]);
  });
});

describe("review fixes", () => {
  it("rounds sizes and durations at unit edges", () => {
    expect(bytes(999_999)).toBe("1.0 MB");
    expect(bytes(999_499)).toBe("999 kB");
    expect(duration("2026-01-01T00:00:00Z", "2026-01-01T00:01:59.600Z")).toBe("2 min 0 s");
  });
  it("orders large doubles among BigInts numerically", () => {
    expect([10n ** 20n, 5.5, 9007199254740993n].sort(compare)).toEqual([5.5, 9007199254740993n, 10n ** 20n]);
  });
  it("puts nulls first when descending, as the server does", async () => {
    const r = new SyncResult("r", { metadata: [{ name: "x", datatype: "double" }], data: [[1], [null], [2]] }, "q", "");
    expect((await r.page({ offset: 0, limit: 9, sort: "x", descending: true })).map((row) => row[0])).toEqual([null, 2, 1]);
    expect((await r.page({ offset: 0, limit: 9, sort: "x" })).map((row) => row[0])).toEqual([1, 2, null]);
  });
});
