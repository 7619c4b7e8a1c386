/**
 * ADQL 2.1 for the editor: the dialect CodeMirror's SQL mode highlights, the
 * completions it offers (schemas, tables, columns with their units and
 * descriptions, ADQL's functions and the service's own), and the mapping
 * from the server's line/column positions to editor offsets.
 */

import type { Completion, CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import { SQLDialect, type SQLNamespace } from "@codemirror/lang-sql";
import type { Column, Schema } from "./api";

/** ADQL 2.1 §2.1.2 reserved words that are not functions. */
const KEYWORDS =
  "all and as asc between by case cast coalesce cross desc distinct else end except exists false from full group having " +
  "in inner intersect is join left like ilike natural not null nulls offset on or order outer right select then top true " +
  "union using when where with first last";

/** ADQL 2.1's functions: §2.3 (mathematical), §2.4 (geometrical), §2.5.2 (strings), §2.7 (others). */
export const ADQL_FUNCTIONS: { name: string; signature: string; info: string }[] = [
  { name: "ABS", signature: "ABS(x)", info: "absolute value" },
  { name: "ACOS", signature: "ACOS(x)", info: "arc cosine, in radians" },
  { name: "ASIN", signature: "ASIN(x)", info: "arc sine, in radians" },
  { name: "ATAN", signature: "ATAN(x)", info: "arc tangent, in radians" },
  { name: "ATAN2", signature: "ATAN2(y, x)", info: "arc tangent of y/x, in radians" },
  { name: "CEILING", signature: "CEILING(x)", info: "smallest integer not less than x" },
  { name: "COS", signature: "COS(x)", info: "cosine of x radians" },
  { name: "COT", signature: "COT(x)", info: "cotangent of x radians" },
  { name: "DEGREES", signature: "DEGREES(x)", info: "radians to degrees" },
  { name: "EXP", signature: "EXP(x)", info: "e to the power x" },
  { name: "FLOOR", signature: "FLOOR(x)", info: "largest integer not greater than x" },
  { name: "LOG", signature: "LOG(x)", info: "natural logarithm" },
  { name: "LOG10", signature: "LOG10(x)", info: "base-10 logarithm" },
  { name: "MOD", signature: "MOD(x, y)", info: "remainder of x / y" },
  { name: "PI", signature: "PI()", info: "π" },
  { name: "POWER", signature: "POWER(x, y)", info: "x to the power y" },
  { name: "RADIANS", signature: "RADIANS(x)", info: "degrees to radians" },
  { name: "RAND", signature: "RAND([seed])", info: "a random number in [0, 1)" },
  { name: "ROUND", signature: "ROUND(x[, n])", info: "x rounded to n decimal places" },
  { name: "SIN", signature: "SIN(x)", info: "sine of x radians" },
  { name: "SQRT", signature: "SQRT(x)", info: "square root" },
  { name: "TAN", signature: "TAN(x)", info: "tangent of x radians" },
  { name: "TRUNCATE", signature: "TRUNCATE(x[, n])", info: "x truncated to n decimal places" },
  { name: "AREA", signature: "AREA(shape)", info: "area of a shape, in square degrees" },
  { name: "BOX", signature: "BOX(ra, dec, width, height)", info: "a box on the sky, in degrees" },
  { name: "CENTROID", signature: "CENTROID(shape)", info: "the centre of a shape" },
  { name: "CIRCLE", signature: "CIRCLE(ra, dec, radius)", info: "a circle on the sky, in degrees" },
  { name: "CONTAINS", signature: "CONTAINS(point, shape)", info: "1 when the point lies in the shape, else 0" },
  { name: "COORD1", signature: "COORD1(point)", info: "first coordinate (RA) of a point" },
  { name: "COORD2", signature: "COORD2(point)", info: "second coordinate (Dec) of a point" },
  { name: "COORDSYS", signature: "COORDSYS(shape)", info: "the coordinate system of a shape" },
  { name: "DISTANCE", signature: "DISTANCE(point, point)", info: "angular distance in degrees" },
  { name: "INTERSECTS", signature: "INTERSECTS(shape, shape)", info: "1 when the shapes overlap, else 0" },
  { name: "POINT", signature: "POINT(ra, dec)", info: "a point on the sky, in degrees" },
  { name: "POLYGON", signature: "POLYGON(ra1, dec1, ra2, dec2, ra3, dec3, ...)", info: "a polygon on the sky" },
  { name: "REGION", signature: "REGION(text)", info: "a shape written as DALI/STC-S text" },
  { name: "LOWER", signature: "LOWER(text)", info: "lower-case text" },
  { name: "UPPER", signature: "UPPER(text)", info: "upper-case text" },
  { name: "COUNT", signature: "COUNT(* | x)", info: "number of rows" },
  { name: "SUM", signature: "SUM(x)", info: "sum" },
  { name: "AVG", signature: "AVG(x)", info: "mean" },
  { name: "MIN", signature: "MIN(x)", info: "minimum" },
  { name: "MAX", signature: "MAX(x)", info: "maximum" },
  { name: "IN_UNIT", signature: "IN_UNIT(x, 'unit')", info: "x converted to another unit" },
];

export const adqlDialect = SQLDialect.define({
  keywords: KEYWORDS,
  builtin: ADQL_FUNCTIONS.map((f) => f.name.toLowerCase()).join(" "),
  types: "smallint integer bigint real double precision char varchar boolean timestamp point circle polygon",
  // ADQL identifiers are case-insensitive unless quoted (ADQL 2.1 §2.1.3), so
  // completing TAP_SCHEMA must not quote it.
  caseInsensitiveIdentifiers: true,
  doubleQuotedStrings: false,
});

/** How a column reads in a completion popup and in the table browser. */
export function describeColumn(c: Column): string {
  const parts = [c.datatype + (c.arraysize ? `[${c.arraysize}]` : "")];
  if (c.unit) parts.push(c.unit);
  if (c.ucd) parts.push(c.ucd);
  return parts.join(" · ");
}

function columnCompletion(c: Column, boost = 0): Completion {
  return {
    label: c.name,
    type: "property",
    detail: c.unit ? `[${c.unit}]` : c.datatype,
    info: [c.description, describeColumn(c)].filter(Boolean).join("\n"),
    boost,
  };
}

/** The schemas, tables and columns as lang-sql's completion namespace. */
export function namespace(schemas: Schema[]): SQLNamespace {
  const out: Record<string, SQLNamespace> = {};
  for (const schema of schemas) {
    const tables: Record<string, SQLNamespace> = {};
    for (const t of schema.tables) {
      tables[t.name] = {
        self: {
          label: t.name,
          type: "type",
          detail: t.rows != null ? `${t.rows.toLocaleString("en")} rows` : "table",
          info: t.description ?? undefined,
        },
        children: t.columns.map((c) => columnCompletion(c)),
      };
    }
    out[schema.name] = { self: { label: schema.name, type: "namespace", detail: "schema" }, children: tables };
  }
  return out;
}

/** Functions: ADQL's, and the service's own user-defined ones (from TAPRegExt). */
export function functionCompletions(udfs: { signature: string; description: string }[]): Completion[] {
  const adql = ADQL_FUNCTIONS.map<Completion>((f) => ({
    label: f.name,
    type: "function",
    detail: f.signature,
    info: f.info,
    apply: `${f.name}(`,
  }));
  const own = udfs.map<Completion>((u) => {
    const name = u.signature.split("(")[0].trim();
    return { label: name, type: "function", detail: u.signature, info: u.description, apply: `${name}(` };
  });
  return [...adql, ...own];
}

/**
 * Bare column names (no table prefix) of the tables the query names, which
 * lang-sql offers only after "table.": in `SELECT ra FROM gaia.source` the
 * user types the column before anything else, often before the table.
 */
export function columnsInScope(schemas: Schema[]) {
  const tables = schemas.flatMap((s) => s.tables);
  return (context: CompletionContext): CompletionResult | null => {
    const word = context.matchBefore(/[A-Za-z_][\w]*/);
    if (!word && !context.explicit) return null;
    // After a dot, lang-sql's own source completes the qualified name.
    const from = word ? word.from : context.pos;
    if (context.state.sliceDoc(from - 1, from) === ".") return null;
    const text = context.state.doc.toString().toLowerCase();
    const named = tables.filter((t) => new RegExp(`(^|[^\\w.])${escape(t.qualified.toLowerCase())}($|[^\\w])`).test(text));
    if (!named.length) return null;
    const seen = new Set<string>();
    const options = named.flatMap((t) => t.columns).filter((c) => !seen.has(c.name) && seen.add(c.name));
    return { from, options: options.map((c) => columnCompletion(c, 1)), validFor: /^\w*$/ };
  };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The offset of 1-based (line, column) in `text`, clamped into it. */
export function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split("\n");
  const l = Math.min(Math.max(line, 1), lines.length);
  let offset = 0;
  for (let i = 0; i < l - 1; i++) offset += lines[i].length + 1;
  return offset + Math.min(Math.max(column - 1, 0), lines[l - 1].length);
}

/** The span to underline from `offset`: the word or token there, at least one character. */
export function spanAt(text: string, offset: number): { from: number; to: number } {
  if (offset >= text.length) return { from: Math.max(0, text.length - 1), to: text.length };
  const word = /^[\w.]+|^'[^']*'?|^\S/.exec(text.slice(offset));
  return { from: offset, to: offset + (word ? word[0].length : 1) };
}

/** The service's user-defined functions, from its TAPRegExt capabilities. */
export function udfsOf(capabilities: Document): { signature: string; description: string }[] {
  return Array.from(capabilities.getElementsByTagName("languageFeatures"))
    .filter((f) => f.getAttribute("type")?.endsWith("#features-udf"))
    .flatMap((f) => Array.from(f.getElementsByTagName("feature")))
    .map((f) => ({
      signature: f.getElementsByTagName("form")[0]?.textContent?.trim() ?? "",
      description: f.getElementsByTagName("description")[0]?.textContent?.trim() ?? "",
    }))
    .filter((u) => u.signature);
}
