// The jobs table, the open incidents and the health summary of the dashboard.
import {
  actionButtons, el, fmtRelative, fmtSpan, fmtTime, jobHref, reconcile, runHref, setAttr, setText, setVariant, updateToggle,
} from "./dom.js";

const HEALTH_ORDER = ["failing", "delayed", "inactive", "running", "ok", "paused"];

// Each row's parts, so a refresh updates text in place instead of rebuilding the row.
const parts = new WeakMap();

/** Renders the jobs into the table body, keyed by name (rows carry data-job="<name>"). */
export function renderJobs(tbody, jobs, now) {
  reconcile(tbody, jobs, (job) => job.name, createRow, (tr, job) => updateRow(tr, job, now));
}

function createRow(job) {
  const p = {
    name: el("a", { class: "job-name", href: jobHref(job.name), text: job.name }),
    description: el("div", { class: "muted small clamp" }),
    tags: el("div", { class: "tags" }),
    health: el("span", { class: "badge", "data-testid": "health" }),
    healthSince: el("div", { class: "muted small" }),
    schedule: el("span"),
    scheduleNote: el("div", { class: "muted small" }),
    lastStatus: el("a", { class: "badge" }),
    lastDetail: el("span", { class: "muted small" }),
    running: el("span", { class: "chip chip-running", hidden: true }),
    nextTime: el("time"),
    nextRelative: el("span", { class: "muted small" }),
    ...actionButtons(job.name),
  };
  const tr = el("tr", { "data-job": job.name },
    el("td", { class: "c-job", "data-label": "Job" }, p.name, p.description, p.tags),
    el("td", { class: "c-health", "data-label": "Health" }, p.health, p.healthSince),
    el("td", { class: "c-schedule", "data-label": "Schedule" }, p.schedule, p.scheduleNote),
    el("td", { class: "c-last", "data-label": "Last run" }, el("div", { class: "line" }, p.lastStatus, p.running), p.lastDetail),
    el("td", { class: "c-next", "data-label": "Next slot" }, p.nextTime, " ", p.nextRelative),
    el("td", { class: "c-actions" }, el("div", { class: "actions" }, p.toggle, p.trigger)),
  );
  parts.set(tr, p);
  return tr;
}

function updateRow(tr, job, now) {
  const p = parts.get(tr);
  setText(p.description, job.description);
  p.description.hidden = !job.description;
  updateTags(p.tags, job.tags);

  const state = job.retired ? "retired" : job.health?.state ?? "ok";
  setText(p.health, state);
  setVariant(p.health, "h-", state);
  setAttr(p.health, "title", job.health?.reason ?? "retired: no longer in the config");
  setVariant(tr, "row-", state);
  setText(p.healthSince, job.health?.since ? `for ${fmtSpan(Math.max(0, now - job.health.since))}` : "");

  setText(p.schedule, job.schedule.text);
  setText(p.scheduleNote, job.overlap === "skip" ? "" : `overlap: ${job.overlap}`);

  updateLastRun(p, job, now);

  const next = job.nextSlot;
  setText(p.nextTime, job.paused ? "paused" : fmtTime(next, now));
  setAttr(p.nextTime, "datetime", next ? new Date(next).toISOString() : null);
  setText(p.nextRelative, job.paused || !next ? "" : fmtRelative(next, now));

  updateToggle(p.toggle, job.paused);
  p.toggle.hidden = job.retired;
  p.trigger.hidden = job.retired;
}

function updateTags(node, tags) {
  const text = tags.join(",");
  if (node.dataset.tags === text) return;
  node.dataset.tags = text;
  node.replaceChildren(...tags.map((tag) => el("span", { class: "tag", text: tag })));
  node.hidden = tags.length === 0;
}

function updateLastRun(p, job, now) {
  const last = job.lastRun;
  p.lastStatus.hidden = !last;
  setText(p.running, job.running > 1 ? `${job.running} running` : "running");
  // The badge already says "running" when the last run is the one going.
  p.running.hidden = job.running === 0 || !last || (last.status === null && job.running === 1);
  if (!last) {
    setText(p.lastDetail, "never ran");
    return;
  }
  // A started run has no status of its own until it finishes.
  const status = last.status ?? "running";
  setText(p.lastStatus, status);
  setVariant(p.lastStatus, "st-", status);
  setAttr(p.lastStatus, "href", runHref(last.id));
  setAttr(p.lastStatus, "data-status", status);
  setAttr(p.lastStatus, "title", `Run #${last.id}: open its page`);
  const when = last.finishedAt ?? last.startedAt;
  const took = last.durationMs !== null ? fmtDurationShort(last.durationMs) : last.startedAt ? `for ${fmtSpan(Math.max(0, now - last.startedAt))}` : "";
  setText(p.lastDetail, [took, when ? fmtRelative(when, now) : ""].filter(Boolean).join(" · "));
}

function fmtDurationShort(ms) {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return fmtSpan(ms);
}

/** The counts per health state next to the "Jobs" heading, worst first. */
export function renderSummary(node, jobs) {
  const counts = new Map();
  for (const job of jobs) {
    const state = job.retired ? "retired" : job.health?.state ?? "ok";
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  const items = [...counts].sort((a, b) => rank(a[0]) - rank(b[0]));
  reconcile(node, items, ([state]) => state,
    ([state]) => el("span", { class: `chip h-${state}` }),
    (chip, [state, n]) => setText(chip, `${n} ${state}`));
}

function rank(state) {
  const i = HEALTH_ORDER.indexOf(state);
  return i === -1 ? HEALTH_ORDER.length : i;
}

/** The open incidents; the section hides when there are none. */
export function renderIncidents(section, list, incidents, now) {
  section.hidden = incidents.length === 0;
  reconcile(list, incidents, (i) => i.id, createIncident, (li, incident) => updateIncident(li, incident, now));
}

function createIncident(incident) {
  const p = {
    state: el("span", { class: "badge" }),
    since: el("span", { class: "muted" }),
    detail: el("span", { class: "muted small" }),
  };
  const li = el("li", { "data-incident": incident.id },
    p.state, el("a", { class: "job-name", href: jobHref(incident.job), text: incident.job }), p.since, p.detail);
  parts.set(li, p);
  return li;
}

function updateIncident(li, incident, now) {
  const p = parts.get(li);
  setText(p.state, incident.state);
  setVariant(p.state, "h-", incident.state);
  setVariant(li, "row-", incident.state);
  const since = incident.since ?? incident.openedAt;
  setText(p.since, `since ${fmtTime(since, now)} (${fmtRelative(since, now)})`);
  const notified = incident.notifications === 1 ? "1 notification" : `${incident.notifications} notifications`;
  setText(p.detail, `opened ${fmtTime(incident.openedAt, now)} · ${notified}`);
}
