/**
 * The page: it loads the service's description, tables and examples, and
 * joins the parts (table browser, editor, result panel, job list). Every
 * query goes to the TAP endpoints as any client's would.
 */

import "./style.css";
import { udfsOf } from "./adql";
import * as api from "./api";
import { TableBrowser } from "./browser";
import { byId, count, h } from "./dom";
import { QueryEditor } from "./editor";
import { JobList } from "./jobs";
import { ResultPanel } from "./results";
import { JobResult, SyncResult } from "./source";

let service: api.Service | null = null;
const results = new ResultPanel(byId("panel-result"), byId("announce"), () => service);
const checkLine = byId("check");
const maxrec = byId<HTMLInputElement>("maxrec");
const queue = byId<HTMLSelectElement>("queue");
const runId = byId<HTMLInputElement>("runid");

const editor = new QueryEditor(byId("editor"), {
  runNow: () => void runNow(),
  submit: () => void submit(),
  checked: (outcome) => {
    checkLine.className = `check ${outcome.ok ? "ok" : "error"}`;
    if (outcome.ok) {
      const warnings = outcome.warnings.length ? `; ${outcome.warnings.length} warning(s), underlined` : "";
      checkLine.textContent = `✓ Valid ADQL: ${outcome.columns.length} columns${warnings}.`;
    } else if ("unreachable" in outcome) {
      checkLine.textContent = `The query could not be checked: ${outcome.message}`;
    } else {
      const at = outcome.line != null ? `Line ${outcome.line}, column ${outcome.column}: ` : "";
      checkLine.textContent = `${at}${outcome.message}`;
    }
  },
});

const browser = new TableBrowser(byId("browser-tree"), byId<HTMLInputElement>("browser-search"), {
  insert: (text) => editor.insert(text),
  write: (query) => {
    editor.text = query;
    editor.focus();
  },
});

// --- tabs (WAI-ARIA tabs pattern: arrows move between them) ---------------

const tabs = [byId("tab-result"), byId("tab-jobs")];
function selectTab(tab: HTMLElement) {
  for (const t of tabs) {
    const selected = t === tab;
    t.setAttribute("aria-selected", String(selected));
    t.tabIndex = selected ? 0 : -1;
    byId(t.getAttribute("aria-controls")!).hidden = !selected;
  }
  jobList.setVisible(tab.id === "tab-jobs");
}
for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const next = tabs[(tabs.indexOf(tab) + 1) % tabs.length];
    selectTab(next);
    next.focus();
  });
}
const showResults = () => selectTab(tabs[0]);

// --- running queries ---------------------------------------------------------

let running: AbortController | null = null;
/** The job the result panel waits for, shown when it ends. */
let awaited: string | null = null;
/**
 * The result panel belongs to the newest action (run, submit, view): an
 * older one's answer, arriving later, must not replace it.
 */
let turn = 0;
function takeTurn(): () => boolean {
  const mine = ++turn;
  running?.abort();
  running = null;
  awaited = null;
  return () => mine === turn;
}

async function runNow() {
  const query = editor.text.trim();
  if (!query) return editor.focus();
  const current = takeTurn();
  const controller = (running = new AbortController());
  showResults();
  results.message("Running…", "busy");
  const started = performance.now();
  try {
    const answer = await api.runSync(query, maxrec.value, controller.signal);
    const took = Math.round(performance.now() - started);
    if (current()) await results.show(new SyncResult(`Quick result (${took} ms)`, answer, query, maxrec.value));
  } catch (e) {
    if (current()) results.message(`The query failed: ${(e as Error).message}`, "error");
  }
}

const submitButton = byId<HTMLButtonElement>("run-async");

async function submit() {
  const query = editor.text.trim();
  if (!query) return editor.focus();
  if (!service?.asyncJobs) return results.message("This service runs no async jobs; use Run now.", "error");
  // One job per press: the button stays off until the service has answered.
  if (submitButton.disabled) return;
  submitButton.disabled = true;
  const current = takeTurn();
  showResults();
  try {
    const id = await api.submitJob(query, { maxrec: maxrec.value, queue: queue.value, runId: runId.value.trim() });
    if (!current()) return;
    awaited = id;
    results.message(`Job ${runId.value.trim() || id} submitted; its result shows here when it completes (the Jobs tab shows its progress).`, "busy");
    await jobList.refresh();
    const job = jobList.get(id);
    if (job) ended(job);
  } catch (e) {
    if (current()) results.message(`The job could not be submitted: ${(e as Error).message}`, "error");
  } finally {
    submitButton.disabled = false;
  }
}

/** Shows the awaited job's outcome once it has one. */
function ended(job: api.Job) {
  if (job.id !== awaited) return;
  if (job.phase === "COMPLETED") void view(job);
  else if (job.phase === "ERROR") results.message(`Job ${job.runId || job.id} failed: ${job.error ?? "no message"}`, "error");
  else if (job.phase === "ABORTED") results.message(`Job ${job.runId || job.id} was aborted.`, "info");
  else return;
  awaited = null;
}

async function view(job: api.Job) {
  const current = takeTurn();
  showResults();
  results.message("Reading the result…", "busy");
  try {
    const label = `Job ${job.runId || job.id}`;
    const { source, first } = await JobResult.open(job.id, label, job.overflow ?? false, job.sharedVotableUrl ?? null);
    if (!current()) return;
    await results.show(source, first);
    // From the job list (now hidden), the keyboard goes on at the result.
    if (byId("panel-jobs").contains(document.activeElement) || document.activeElement === document.body) byId("result-title").focus();
  } catch (e) {
    if (current()) results.message(`The result could not be read: ${(e as Error).message}`, "error");
  }
}

const jobList = new JobList(byId("panel-jobs"), byId("jobs-count"), {
  view: (job) => void view(job),
  edit: (query) => {
    editor.text = query;
    editor.focus();
  },
  changed: ended,
  vanished: (id) => {
    if (id !== awaited) return;
    awaited = null;
    results.message("The job was deleted before it ended.", "info");
  },
  error: (message) => results.message(message, "error"),
});

byId("run-sync").addEventListener("click", () => void runNow());
byId("run-async").addEventListener("click", () => void submit());

// --- loading the service's description --------------------------------------

async function start() {
  results.message("Write a query, then Run now (Ctrl+Enter) or Submit job (Ctrl+Shift+Enter).");
  const [svc, schemas, examples, capabilities] = await Promise.allSettled([
    api.service(),
    api.tables(),
    api.examples(),
    fetch("tap/capabilities").then(async (r) => new DOMParser().parseFromString(await r.text(), "application/xml")),
  ]);
  if (svc.status === "fulfilled") describe((service = svc.value));
  else results.message(`The service's description could not be read: ${svc.reason}`, "error");
  if (schemas.status === "fulfilled") {
    browser.show(schemas.value);
    editor.setNames(schemas.value, capabilities.status === "fulfilled" ? udfsOf(capabilities.value) : []);
  } else {
    byId("browser-tree").replaceChildren(h("p", { class: "message error" }, `The tables could not be read: ${schemas.reason}`));
  }
  if (examples.status === "fulfilled") offerExamples(examples.value);
  if (!editor.text) {
    const first = browser.tables.find((t) => !/^tap_schema\./i.test(t.qualified));
    editor.text = first ? `SELECT TOP 10 *\nFROM ${first.qualified}` : "SELECT TOP 10 * FROM TAP_SCHEMA.tables";
  }
  // Without async jobs there is no job list to read.
  if (service?.asyncJobs) await jobList.refresh();
  else byId("tab-jobs").hidden = true;
}

function describe(s: api.Service) {
  document.title = s.title ? `${s.title} — Corvus` : "Corvus";
  byId("service-title").textContent = s.title || "Corvus";
  byId("service-description").textContent = s.description ?? "";
  maxrec.value = String(Math.min(1000, s.maxrec.default));
  maxrec.max = String(s.maxrec.hard);
  queue.replaceChildren(...s.queues.map((q) => h("option", { value: q.name }, `${q.name} (≤ ${count(q.maxSeconds)} s)`)));
  for (const id of ["run-async", "queue", "runid"]) (byId(id) as HTMLButtonElement).disabled = !s.asyncJobs;
}

function offerExamples(examples: api.Example[]) {
  const select = byId<HTMLSelectElement>("examples");
  select.append(...examples.map((e, i) => h("option", { value: String(i) }, e.name)));
  // A button, not the select's change: arrow keys on a closed select change
  // its value, and a keyboard user browsing the list must not lose the query.
  byId("use-example").addEventListener("click", () => {
    const example = examples[Number(select.value)];
    if (select.value !== "" && example) {
      editor.text = example.query;
      editor.focus();
    }
  });
}

void start();
