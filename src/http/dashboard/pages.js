// The run page (#/runs/<id>) and the job page (#/jobs/<name>). Each page is
// { root, title, poll() }: app.js shows root and calls poll() on its 2-second cycle.
import { api, ApiError } from "./api.js";
import {
  actionButtons, el, fmtDuration, fmtFull, fmtRelative, fmtSpan, fmtTime, healthBadge, jobHref, reconcile, runHref, setText,
  setVariant, statusBadge, updateToggle,
} from "./dom.js";

const RUNS_PAGE = 50;

/** A not-found or bad-id answer ends the page's polling; anything else is the app's to handle. */
function isMissing(error) {
  return error instanceof ApiError && (error.status === 404 || error.status === 400);
}

function crumbs(...items) {
  return el("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, el("a", { href: "#/", text: "← Dashboard" }), ...items.flatMap((item) => [el("span", { class: "sep", text: "/" }), item]));
}

/** A <dl> of [label, value] pairs; values are strings or nodes; empty ones are left out. */
function facts(pairs) {
  const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== "");
  return el("dl", { class: "facts" }, shown.flatMap(([label, value]) => [el("dt", { text: label }), el("dd", {}, value)]));
}

function notFound(root, what, error) {
  root.append(el("p", { class: "empty" }, `${what}: ${error.message}`));
}

// ---- run page --------------------------------------------------------------------------------

export function runPage(id, { serverNow }) {
  const root = el("section", { class: "page card", "data-testid": "run-page" });
  const heading = el("h1", { text: `Run #${id}` });
  const status = el("span", { class: "badge", "data-testid": "status" });
  const details = el("div");
  const stdout = el("pre", { class: "log", "data-testid": "stdout", tabindex: "0" });
  const stderr = el("pre", { class: "log log-stderr", "data-testid": "stderr", tabindex: "0" });
  const logNote = el("p", { class: "muted small" });
  const jobCrumb = el("a", { href: "#/" });
  root.append(crumbs(jobCrumb, el("span", { text: `Run #${id}` })), el("div", { class: "page-head" }, heading, status), details,
    el("h2", { text: "stdout" }), stdout, el("h2", { text: "stderr" }), stderr, logNote);

  let finished = false;
  let shown = "";

  async function poll() {
    if (finished) return "idle";
    let run;
    let log;
    try {
      [{ run }, log] = await Promise.all([api(`/runs/${encodeURIComponent(id)}`), api(`/runs/${encodeURIComponent(id)}/log`)]);
    } catch (error) {
      if (!isMissing(error)) throw error;
      finished = true;
      root.replaceChildren(crumbs(el("span", { text: `Run #${id}` })));
      return notFound(root, `Run #${id}`, error);
    }
    const now = serverNow();
    setText(jobCrumb, run.job);
    jobCrumb.href = jobHref(run.job);
    setText(status, run.status);
    setVariant(status, "st-", run.status);
    status.dataset.status = run.status;
    // Rebuilt only when something changed: while it runs, that is the elapsed time each poll.
    const key = JSON.stringify(run) + (run.status === "running" ? now : "");
    if (key !== shown) {
      shown = key;
      details.replaceChildren(runFacts(run, now));
    }
    showLog(stdout, log.stdout);
    showLog(stderr, log.stderr);
    setText(logNote, run.status === "running"
      ? "The output is stored when the run finishes; this page follows the run."
      : "The daemon keeps the last 64 KiB of each stream.");
    // A finished run does not change any more: one last fetch got its output, so stop asking.
    finished = run.status !== "running";
  }

  return { root, title: `Run #${id}`, poll };
}

function runFacts(run, now) {
  const running = run.status === "running";
  const duration = run.durationMs !== null ? fmtDuration(run.durationMs)
    : running && run.startedAt ? `${fmtDuration(Math.max(0, now - run.startedAt))} so far` : null;
  const exit = [run.exitCode !== null ? `exit code ${run.exitCode}` : "", run.signal ? `signal ${run.signal}` : ""].filter(Boolean).join(", ");
  const missed = run.missedCount ? `${run.missedCount} slot${run.missedCount === 1 ? "" : "s"}, up to ${fmtFull(run.missedUntil)}` : null;
  return facts([
    ["Job", el("a", { href: jobHref(run.job), text: run.job })],
    ["Trigger", run.trigger],
    ["Slot", fmtFull(run.slot)],
    ["Started", run.startedAt ? `${fmtFull(run.startedAt)} (${fmtRelative(run.startedAt, now)})` : "did not start"],
    ["Finished", run.finishedAt ? fmtFull(run.finishedAt) : running ? "still running" : "—"],
    ["Duration", duration],
    ["Attempt", String(run.attempt)],
    ["Exit", exit || null],
    ["Missed", missed],
    ["Instance", run.instanceId],
    ["Last heartbeat", running && run.heartbeatAt ? `${fmtTime(run.heartbeatAt, now)} (${fmtRelative(run.heartbeatAt, now)})` : null],
    ["Error", run.error ? el("span", { class: "error-text", text: run.error }) : null],
  ]);
}

/** Sets a log's text (as text: run output is untrusted) and keeps a reader at the bottom there. */
function showLog(pre, text) {
  if (pre.textContent === text) return;
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = text;
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

// ---- job page --------------------------------------------------------------------------------

export function jobPage(name, { serverNow }) {
  const enc = encodeURIComponent(name);
  const root = el("section", { class: "page card", "data-testid": "job-page" });
  const health = el("span", { class: "badge", "data-testid": "job-health" });
  const { toggle, trigger } = actionButtons(name);
  const description = el("p", { class: "muted" });
  const details = el("div");
  const rows = el("tbody");
  const older = el("button", { type: "button", class: "btn", text: "Load older runs", hidden: true });
  root.append(crumbs(el("span", { text: name })),
    el("div", { class: "page-head" }, el("h1", { text: name }), health, el("span", { class: "spacer" }), el("div", { class: "actions" }, toggle, trigger)),
    description, details, el("h2", { text: "Recent runs" }),
    el("div", { class: "table-wrap" }, el("table", { class: "runs" },
      el("thead", {}, el("tr", {}, ...["Run", "Status", "Trigger", "Started", "Duration", "Result"].map((h) => el("th", { scope: "col", text: h })))),
      rows)),
    older);

  let latest = [];
  let earlier = [];
  let shown = "";
  let gone = false;

  function renderRuns() {
    const seen = new Set(latest.map((r) => r.id));
    const runs = [...latest, ...earlier.filter((r) => !seen.has(r.id))];
    reconcile(rows, runs, (r) => r.id, createRunRow, (tr, run) => updateRunRow(tr, run, serverNow()));
  }

  older.addEventListener("click", async () => {
    const all = [...latest, ...earlier];
    const oldest = all.at(-1);
    if (!oldest) return;
    older.disabled = true;
    try {
      const { runs } = await api(`/jobs/${enc}/runs?limit=${RUNS_PAGE}&before=${oldest.id}`);
      earlier = [...earlier, ...runs];
      older.hidden = runs.length < RUNS_PAGE;
      renderRuns();
    } finally {
      older.disabled = false;
    }
  });

  async function poll(stale) {
    if (gone) return "idle";
    let answer;
    let runs;
    try {
      [answer, { runs }] = await Promise.all([api(`/jobs/${enc}`), api(`/jobs/${enc}/runs?limit=${RUNS_PAGE}`)]);
    } catch (error) {
      if (!isMissing(error)) throw error;
      gone = true;
      root.replaceChildren(crumbs(el("span", { text: name })));
      return notFound(root, `Job "${name}"`, error);
    }
    // An answer from before a pause/resume click would flip the button back for a moment.
    if (stale()) return;
    const { job, now } = answer;
    const { spec } = job;
    const state = job.retired ? "retired" : job.health?.state ?? "ok";
    setText(health, state);
    setVariant(health, "h-", state);
    health.title = job.health?.reason ?? "";
    updateToggle(toggle, job.paused);
    toggle.hidden = trigger.hidden = job.retired;
    setText(description, job.description);
    description.hidden = !job.description;
    const key = JSON.stringify([job, spec]);
    if (key !== shown) {
      shown = key;
      details.replaceChildren(jobFacts(job, spec, now));
    }
    latest = runs;
    if (earlier.length === 0) older.hidden = runs.length < RUNS_PAGE;
    renderRuns();
  }

  return { root, title: name, poll };
}

function jobFacts(job, spec, now) {
  const h = job.health;
  return facts([
    ["Schedule", job.schedule.kind === "cron" ? `${job.schedule.text} (cron ${job.schedule.expression})` : job.schedule.text],
    ["Health", h ? el("span", {}, healthBadge(h), " ", h.reason, h.since ? ` — since ${fmtTime(h.since, now)} (${fmtSpan(Math.max(0, now - h.since))})` : "") : "retired"],
    ["Next slot", job.paused ? "paused" : job.nextSlot ? `${fmtFull(job.nextSlot)} (${fmtRelative(job.nextSlot, now)})` : "—"],
    ["Last run", job.lastRun ? el("a", { href: runHref(job.lastRun.id), text: `#${job.lastRun.id}` }) : "never ran"],
    ["Running", job.running ? String(job.running) : null],
    ["Action", actionText(spec.action)],
    ["Directory", spec.cwd],
    ["Overlap", job.overlap],
    ["Timeout", spec.timeoutMs === null ? "none" : fmtDuration(spec.timeoutMs)],
    ["Retries", spec.retries.max ? `${spec.retries.max}, ${fmtDuration(spec.retries.delayMs)} apart` : "none"],
    ["Catch-up", `${spec.catchup} (window ${fmtDuration(spec.catchupWindowMs)})`],
    ["Grace", fmtDuration(spec.graceMs)],
    ["Environment", Object.keys(spec.env).join(", ")],
    ["Tags", job.tags.join(", ")],
  ]);
}

function actionText(action) {
  const text = action.kind === "shell" ? action.script
    : action.kind === "command" ? action.argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")
      : action.kind === "module" ? action.path : "in-process handler";
  return el("span", {}, el("span", { class: "muted", text: `${action.kind}: ` }), el("code", { text }));
}

function createRunRow(run) {
  return el("tr", { "data-run": run.id });
}

function updateRunRow(tr, run, now) {
  // Rows change rarely (a running run finishing): rebuild a row's cells only when it did.
  const key = JSON.stringify(run) + (run.status === "running" ? Math.floor(now / 1000) : "");
  if (tr.dataset.shown === key) return;
  tr.dataset.shown = key;
  const started = run.startedAt ?? run.slot;
  const duration = run.durationMs !== null ? fmtDuration(run.durationMs)
    : run.status === "running" && run.startedAt ? `${fmtDuration(Math.max(0, now - run.startedAt))} so far` : "—";
  tr.replaceChildren(
    el("td", {}, el("a", { href: runHref(run.id), text: `#${run.id}` })),
    el("td", {}, statusBadge(run.status)),
    el("td", { text: run.trigger }),
    el("td", { title: fmtFull(started), text: fmtTime(started, now) }),
    el("td", { text: duration }),
    el("td", { class: "result", text: runResult(run) }),
  );
}

function runResult(run) {
  if (run.error) return run.error;
  if (run.status === "missed") return `${run.missedCount ?? 1} slot${run.missedCount === 1 ? "" : "s"} missed`;
  if (run.signal) return `signal ${run.signal}`;
  if (run.exitCode !== null) return `exit ${run.exitCode}`;
  return "";
}
