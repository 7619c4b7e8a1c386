/**
 * The HTTP calls the page makes: the small JSON API beside the TAP service
 * (docs/web-api.md) and the TAP endpoints themselves, which the page uses
 * exactly as any TAP client does. All URLs are relative to the page, so the
 * interface works behind a proxy that serves the service under a prefix.
 */

export interface Service {
  title: string;
  shortName: string;
  description: string;
  version: string;
  tapUrl: string;
  asyncJobs: boolean;
  queues: { name: string; workers: number; maxSeconds: number }[];
  maxrec: { default: number; hard: number };
  formats: { mime: string; name: string; extension: string }[];
}

export interface Column {
  name: string;
  datatype: string;
  arraysize?: string | null;
  unit?: string | null;
  ucd?: string | null;
  utype?: string | null;
  description?: string | null;
  principal?: boolean;
}

export interface Table {
  name: string;
  qualified: string;
  description?: string | null;
  rows?: number | null;
  position?: { ra: string; dec: string } | null;
  columns: Column[];
}

export interface Schema {
  name: string;
  tables: Table[];
}

export type Validation =
  | { ok: true; columns: Column[]; warnings: { message: string; line?: number; column?: number }[] }
  | { ok: false; message: string; line?: number | null; column?: number | null };

export interface Job {
  id: string;
  runId?: string | null;
  phase: string;
  queue?: string | null;
  created: string;
  started?: string | null;
  ended?: string | null;
  destruction?: string | null;
  query?: string | null;
  format?: string | null;
  maxrec?: string | null;
  estimatedRows?: number | null;
  progress?: { rowsRead: number; rowsEstimated?: number | null } | null;
  rows?: number | null;
  size?: number | null;
  mimeType?: string | null;
  overflow?: boolean | null;
  error?: string | null;
  url: string;
  sharedVotableUrl?: string | null;
}

/** A table in the TAP JSON format (the Gaia archive's and DaCHS's layout). */
export interface TapJson {
  metadata: Column[];
  data: unknown[][];
  status?: string;
  /** With status ERROR: why the query stopped after its first rows. */
  error?: string;
}

export interface Page {
  total: number;
  offset: number;
  result: TapJson;
}

export interface Example {
  name: string;
  query: string;
}

/** A request the service refused or could not answer, with its message. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * The message of a failed answer: the JSON API's `{"error": ...}`, a DALI
 * error document's QUERY_STATUS INFO (TAP 1.1 §2.9, DALI 1.1 §4.4), or the
 * text itself.
 */
export async function errorMessage(response: Response): Promise<string> {
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    try {
      const body = JSON.parse(text) as { error?: string };
      if (body.error) return body.error;
    } catch {
      /* not JSON after all: fall through */
    }
  }
  if (type.includes("xml")) {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    for (const info of Array.from(doc.getElementsByTagName("INFO"))) {
      if (info.getAttribute("name") === "QUERY_STATUS") return (info.textContent ?? "").trim();
    }
  }
  return text.trim() || `${response.status} ${response.statusText}`;
}

async function check(response: Response): Promise<Response> {
  if (!response.ok) throw new ApiError(await errorMessage(response), response.status);
  return response;
}

/**
 * JSON.parse that keeps integers beyond 2^53 exact, as BigInt (a Gaia
 * source_id has 19 digits; a double would change its last ones). It reads
 * the number's own text where the browser gives it to revivers (Chromium
 * 114+, Firefox 135+: the "JSON.parse source text access" proposal);
 * elsewhere such integers stay doubles.
 */
export function parseJson(text: string): unknown {
  return JSON.parse(text, (_key: string, value: unknown, context?: { source?: string }) =>
    typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value,
  );
}

async function getJson<T>(url: string): Promise<T> {
  const response = await check(await fetch(url, { headers: { Accept: "application/json" } }));
  return parseJson(await response.text()) as T;
}

function form(fields: Record<string, string>): URLSearchParams {
  return new URLSearchParams(Object.entries(fields).filter(([, v]) => v !== ""));
}

export const service = () => getJson<Service>("api/service");

export const tables = async () => (await getJson<{ schemas: Schema[] }>("api/tables")).schemas;

export async function validate(query: string, signal?: AbortSignal): Promise<Validation> {
  const response = await check(await fetch("api/validate", { method: "POST", body: form({ QUERY: query }), signal }));
  return (await response.json()) as Validation;
}

export const jobs = async () => (await getJson<{ owner: string; jobs: Job[] }>("api/jobs?last=200")).jobs;

export interface Window {
  offset: number;
  limit: number;
  sort?: string;
  descending?: boolean;
  columns?: string[];
}

/** A page (a window) of a completed job's stored result, read by the server. */
export function rows(jobId: string, w: Window): Promise<Page> {
  const params = new URLSearchParams({ offset: String(w.offset), limit: String(w.limit) });
  if (w.sort) {
    params.set("sort", w.sort);
    params.set("order", w.descending ? "desc" : "asc");
  }
  if (w.columns) params.set("columns", w.columns.join(","));
  return getJson<Page>(`api/jobs/${encodeURIComponent(jobId)}/rows?${params}`);
}

/** The page's own URL, which relative API paths resolve against (a fixed one outside a browser, in unit tests). */
const base = () => (typeof document === "undefined" ? "http://localhost/" : document.baseURI);

export function downloadUrl(jobId: string, format: string): string {
  return new URL(`api/jobs/${encodeURIComponent(jobId)}/download?FORMAT=${encodeURIComponent(format)}`, base()).href;
}

/** TAP sync (TAP 1.1 §2.1): the whole answer, as TAP JSON. */
export async function runSync(query: string, maxrec: string, signal?: AbortSignal): Promise<TapJson> {
  const body = form({ REQUEST: "doQuery", LANG: "ADQL", QUERY: query, RESPONSEFORMAT: "json", MAXREC: maxrec });
  const response = await check(await fetch("tap/sync", { method: "POST", body, signal }));
  const answer = parseJson(await response.text()) as TapJson;
  // A failure after the first rows still answers 200, its status at the end
  // (DALI 1.1 §4.4): the rows before it are not the result.
  if (answer.status === "ERROR") throw new ApiError(answer.error || "the query failed after its first rows", response.status);
  return answer;
}

/** A GET URL of the same sync query, in another format: what downloads and SAMP fetch. */
export function syncUrl(query: string, maxrec: string, format: string): string {
  const params = form({ REQUEST: "doQuery", LANG: "ADQL", QUERY: query, RESPONSEFORMAT: format, MAXREC: maxrec });
  return new URL(`tap/sync?${params}`, base()).href;
}

/**
 * Creates and starts an async job (TAP 1.1 §2.2; UWS 1.1 §2.2.3.1: PHASE=RUN
 * in the creating POST). The service answers 303 to the job, which fetch
 * follows; the job's identifier is the last segment of that URL.
 * Results are stored as Parquet, the format the result viewer pages through.
 */
export async function submitJob(query: string, fields: { maxrec: string; queue: string; runId: string }): Promise<string> {
  const body = form({
    REQUEST: "doQuery",
    LANG: "ADQL",
    QUERY: query,
    RESPONSEFORMAT: "parquet",
    MAXREC: fields.maxrec,
    QUEUE: fields.queue,
    RUNID: fields.runId,
    PHASE: "RUN",
  });
  const response = await fetch("tap/async", { method: "POST", body });
  // The 303 names the job. Its URL is built from the service's configured
  // public address, which may be another origin than the page's (a service
  // bound to 0.0.0.0 and opened by its host name): the job exists whatever
  // fetching that URL gave, so the id comes from the redirect alone.
  if (!response.redirected) await check(response);
  const id = new URL(response.url).pathname.split("/").filter(Boolean).pop();
  if (!response.redirected || !id) throw new ApiError("the service did not say where the new job is", response.status);
  return id;
}

/** A UWS change, whose answer is a 303 (UWS 1.1 §2.2.3): done once the service redirects. */
async function uwsChange(url: string, init: RequestInit): Promise<void> {
  const response = await fetch(url, { ...init, redirect: "manual" });
  if (response.type !== "opaqueredirect") await check(response);
}

/** UWS 1.1 §2.2.3.2: PHASE=ABORT. */
export const abortJob = (id: string) => uwsChange(`tap/async/${encodeURIComponent(id)}/phase`, { method: "POST", body: form({ PHASE: "ABORT" }) });

/** UWS 1.1 §2.2.3.3: DELETE on the job. */
export const deleteJob = (id: string) => uwsChange(`tap/async/${encodeURIComponent(id)}`, { method: "DELETE" });

/** The service's examples (DALI 1.1 §2.3: RDFa in XHTML). */
export async function examples(): Promise<Example[]> {
  const response = await check(await fetch("tap/examples"));
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  return Array.from(doc.querySelectorAll('[typeof="example"]')).flatMap((el) => {
    const name = el.querySelector('[property="name"]')?.textContent?.trim();
    const query = el.querySelector('[property="query"]')?.textContent?.trim();
    return name && query ? [{ name, query }] : [];
  });
}
