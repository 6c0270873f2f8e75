// DOM building and formatting shared by the dashboard's modules.
// Every string from the API goes into the page as text (textContent / attributes), never as
// HTML: job names, errors and run output are not ours to trust.

const SVG_NS = "http://www.w3.org/2000/svg";

/** el("a", { href, class, text }, ...children): children may be nodes or strings (as text). */
export function el(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements (they need their namespace). */
export function svg(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

// Updating only what changed keeps text selections, hover states and focus intact on a refresh.
export function setText(node, text) {
  const value = text === null || text === undefined ? "" : String(text);
  if (node.textContent !== value) node.textContent = value;
}

export function setAttr(node, name, value) {
  if (value === null || value === undefined || value === false) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
    return;
  }
  const text = value === true ? "" : String(value);
  if (node.getAttribute(name) !== text) node.setAttribute(name, text);
}

/** Replaces a class with a prefix (e.g. "st-") by prefix+value, leaving the others alone. */
export function setVariant(node, prefix, value) {
  for (const name of [...node.classList]) if (name.startsWith(prefix) && name !== prefix + value) node.classList.remove(name);
  if (value) node.classList.add(prefix + value);
}

/**
 * Brings parent's children in line with items, keyed: existing nodes are updated in place
 * (keeping focus and scroll), new ones created, missing ones removed, order fixed.
 */
export function reconcile(parent, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of parent.children) existing.set(child.dataset.key, child);
  let cursor = parent.firstElementChild;
  for (const item of items) {
    const key = String(keyOf(item));
    let node = existing.get(key);
    if (node) existing.delete(key);
    else {
      node = create(item);
      node.dataset.key = key;
    }
    update(node, item);
    if (node === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(node, cursor);
  }
  for (const node of existing.values()) node.remove();
}

// ---- formatting ------------------------------------------------------------------------------

const TIME = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
const DAY_TIME = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const FULL = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});
const HOUR_MINUTE = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const WEEKDAY = new Intl.DateTimeFormat(undefined, { weekday: "short" });

/** "14:03:05" today, "Tue 12 Nov, 02:30" on another day. */
export function fmtTime(ms, now = Date.now()) {
  if (ms === null || ms === undefined) return "—";
  return sameDay(ms, now) ? TIME.format(ms) : DAY_TIME.format(ms);
}

/** With date and seconds, for the run page. */
export function fmtFull(ms) {
  return ms === null || ms === undefined ? "—" : `${FULL.format(ms)}.${String(ms % 1000).padStart(3, "0")}`;
}

export function fmtHourMinute(ms) {
  return HOUR_MINUTE.format(ms);
}

/** "Sun 29": the day a midnight tick starts. */
export function fmtDay(ms) {
  return `${WEEKDAY.format(ms)} ${new Date(ms).getDate()}`;
}

function sameDay(a, b) {
  const x = new Date(a);
  const y = new Date(b);
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate();
}

/** "in 3 m", "12 s ago", "now". */
export function fmtRelative(ms, now) {
  if (ms === null || ms === undefined) return "";
  const delta = ms - now;
  if (Math.abs(delta) < 1000) return "now";
  const span = fmtSpan(Math.abs(delta));
  return delta > 0 ? `in ${span}` : `${span} ago`;
}

/** A coarse span for relative times: "45 s", "3 m", "2 h 5 m", "3 d". */
export function fmtSpan(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} m` : `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

/** A precise duration for runs: "19 ms", "2.0 s", "3 m 20 s", "1 h 5 m". */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.floor(ms / 1000);
  const [big, small] = s < 3600 ? [[Math.floor(s / 60), "m"], [s % 60, "s"]] : [[Math.floor(s / 3600), "h"], [Math.floor((s % 3600) / 60), "m"]];
  return small[0] ? `${big[0]} ${big[1]} ${small[0]} ${small[1]}` : `${big[0]} ${big[1]}`;
}

// ---- shared pieces ---------------------------------------------------------------------------

/** A run status badge; "running" is also what a started run without a final status is. */
export function statusBadge(status, attrs = {}) {
  const value = status ?? "running";
  return el("span", { class: `badge st-${value}`, "data-status": value, text: value, ...attrs });
}

export function healthBadge(health, attrs = {}) {
  const state = health?.state ?? "retired";
  return el("span", { class: `badge h-${state}`, title: health?.reason ?? "retired", text: state, ...attrs });
}

/** Pause-or-resume (one button, so focus stays on it when it flips) and trigger. */
export function actionButtons(name) {
  const toggle = el("button", { type: "button", class: "btn btn-small", "data-job-name": name });
  const trigger = el("button", { type: "button", class: "btn btn-small", "data-action": "trigger", "data-job-name": name, text: "Trigger" });
  trigger.title = `Run ${name} once now, even while paused`;
  return { toggle, trigger };
}

export function updateToggle(button, paused) {
  const action = paused ? "resume" : "pause";
  setAttr(button, "data-action", action);
  setText(button, paused ? "Resume" : "Pause");
  setAttr(button, "title", paused ? "Let scheduled runs start again" : "No new scheduled runs until resumed");
}

export function runHref(id) {
  return `#/runs/${encodeURIComponent(id)}`;
}

export function jobHref(name) {
  return `#/jobs/${encodeURIComponent(name)}`;
}
