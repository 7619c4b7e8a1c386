/**
 * The browser's jobs (api/jobs, polled while the page is open): phase,
 * queue, times, rows and sizes, live; abort, delete, view the result, and
 * "edit as new query". Aborts and deletions go through the UWS endpoints.
 */

import { type Job, abortJob, deleteJob, jobs } from "./api";
import { bytes, count, duration, h, when } from "./dom";

export interface JobActions {
  view: (job: Job) => void;
  edit: (query: string) => void;
  /** A job changed phase (the page shows a job it is waiting for once it ends). */
  changed: (job: Job) => void;
  /** The job is no longer listed (deleted, or past its destruction). */
  vanished: (id: string) => void;
  error: (message: string) => void;
}

/** Poll often while something runs or the list is in view, rarely otherwise. */
const FAST_MS = 1500;
const SLOW_MS = 10_000;

const ACTIVE = new Set(["PENDING", "QUEUED", "EXECUTING", "HELD", "SUSPENDED"]);

export class JobList {
  private list: Job[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private visible = false;
  /** Only the newest request may update the list: answers can come back out of order. */
  private generation = 0;
  private readonly error = h("p", { class: "message error", role: "alert" });

  constructor(
    private readonly panel: HTMLElement,
    private readonly badge: HTMLElement,
    private readonly actions: JobActions,
  ) {}

  /** The list is on screen (its tab is open) or not. */
  setVisible(visible: boolean) {
    this.visible = visible;
    if (visible) void this.refresh();
  }

  /** Fetches the list now, draws it, and schedules the next poll. */
  async refresh() {
    const generation = ++this.generation;
    let fresh: Job[];
    try {
      fresh = await jobs();
    } catch (e) {
      if (generation !== this.generation) return;
      // One alert, its text updated: screen readers are not told again at each poll.
      const text = `The job list could not be read: ${(e as Error).message}`;
      if (this.error.textContent !== text || !this.error.isConnected) {
        this.error.textContent = text;
        this.panel.replaceChildren(this.error);
      }
      return this.schedule();
    }
    if (generation !== this.generation) return;
    const before = new Map(this.list.map((j) => [j.id, j.phase]));
    const now = new Set(fresh.map((j) => j.id));
    this.list = fresh;
    for (const job of fresh) if (before.has(job.id) && before.get(job.id) !== job.phase) this.actions.changed(job);
    for (const id of before.keys()) if (!now.has(id)) this.actions.vanished(id);
    this.render();
    this.schedule();
  }

  /** The next poll: one timer at a time. */
  private schedule() {
    if (this.timer) clearTimeout(this.timer);
    const busy = this.list.some((j) => ACTIVE.has(j.phase));
    this.timer = setTimeout(() => void this.refresh(), busy || this.visible ? FAST_MS : SLOW_MS);
  }

  get(id: string): Job | undefined {
    return this.list.find((j) => j.id === id);
  }

  private render() {
    const running = this.list.filter((j) => ACTIVE.has(j.phase)).length;
    this.badge.textContent = this.list.length ? (running ? `${running} running` : String(this.list.length)) : "";
    if (!this.list.length) {
      this.panel.replaceChildren(h("p", { class: "message info" }, "No jobs yet. Submit a query as a job to run it in the background."));
      return;
    }
    // Keep the focus where it was across a redraw (a keyboard user mid-list).
    const focused = document.activeElement as HTMLElement | null;
    const focusKey = focused?.dataset.key;
    const rows = this.list.map((job) => this.row(job));
    const head = ["Job", "Phase", "Queue", "Created", "Took", "Rows", "Size", "Actions"].map((t) => h("th", { scope: "col" }, t));
    this.panel.replaceChildren(h("table", { class: "jobs", "aria-label": "Your jobs" }, h("thead", {}, h("tr", {}, ...head)), h("tbody", {}, ...rows)));
    if (focusKey) {
      // The button pressed may be gone (Abort, once aborted): then its job's View.
      const job = focusKey.split(":")[0];
      const again = this.panel.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusKey)}"]`);
      const fallback = this.panel.querySelector<HTMLElement>(`[data-key="${CSS.escape(`${job}:edit`)}"]`);
      (again && !(again as HTMLButtonElement).disabled ? again : fallback)?.focus();
    }
  }

  private row(job: Job): HTMLTableRowElement {
    const button = (label: string, action: string, run: () => void, disabled = false) =>
      h("button", { type: "button", "data-key": `${job.id}:${action}`, "data-action": action, disabled, "aria-label": `${label} job ${job.runId || job.id}`, onclick: run }, label);
    const active = ACTIVE.has(job.phase);
    const progress = job.phase === "EXECUTING" && job.progress ? ` ${count(job.progress.rowsRead)} rows read` : "";
    const phase = h("span", { class: `phase phase-${job.phase.toLowerCase()}` }, job.phase);
    return h(
      "tr",
      { "data-job": job.id, "data-phase": job.phase },
      h("td", {}, h("div", { class: "job-name" }, job.runId || job.id), h("code", { class: "job-query", title: job.query ?? "" }, (job.query ?? "").replace(/\s+/g, " ").slice(0, 90))),
      h("td", {}, phase, progress, job.error ? h("div", { class: "job-error" }, job.error) : null),
      h("td", {}, job.queue ?? ""),
      h("td", {}, when(job.created)),
      h("td", {}, duration(job.started, job.ended ?? (active ? null : job.started))),
      h("td", { class: "num" }, count(job.rows), job.overflow ? h("span", { class: "overflow", title: "truncated by MAXREC" }, " +") : null),
      h("td", { class: "num" }, bytes(job.size)),
      h(
        "td",
        { class: "actions" },
        // The result viewer reads results stored as Parquet, as the page's own jobs store them.
        button("View", "view", () => this.actions.view(job), job.phase !== "COMPLETED" || !/parquet/.test(job.mimeType ?? "")),
        button("Edit as new", "edit", () => this.actions.edit(job.query ?? "")),
        active ? button("Abort", "abort", () => void this.act(() => abortJob(job.id))) : null,
        button("Delete", "delete", () => void this.act(() => deleteJob(job.id))),
      ),
    );
  }

  private async act(action: () => Promise<void>) {
    try {
      await action();
    } catch (e) {
      this.actions.error((e as Error).message);
    }
    await this.refresh();
  }
}
