// jobclock dashboard: header, polling, routing, actions and the token. The views live in
// jobs.js (table, incidents), timeline.js (SVG timeline) and pages.js (run and job pages).
import { api, ApiError, describeError, getToken, setToken, Unreachable } from "./api.js";
import { coalescing } from "./coalesce.js";
import { fmtTime, setText } from "./dom.js";
import { renderIncidents, renderJobs, renderSummary } from "./jobs.js";
import { jobPage, runPage } from "./pages.js";
import { caption, renderLegend, renderRange, Timeline } from "./timeline.js";

const POLL_MS = 2000;
const HOURS_KEY = "jobclock.hours";
const UNHEALTHY = ["inactive", "delayed", "failing"];
const DONE = {
  pause: (name) => `Paused ${name}: no new scheduled runs until it is resumed.`,
  resume: (name) => `Resumed ${name}.`,
  trigger: (name) => `Triggered ${name}: it starts within a second.`,
};

const $ = (id) => document.getElementById(id);

const state = {
  meta: null,
  /** The daemon's clock minus ours, so relative times agree with the server. */
  offsetMs: 0,
  hours: readHours(),
  /** The run or job page being shown, or null for the dashboard. */
  page: null,
  dashboardScroll: 0,
  unhealthy: 0,
  /** Set once a request was refused for want of a token, even if /meta could not say so. */
  tokenRefused: false,
};

const serverNow = () => Date.now() + state.offsetMs;
const timeline = new Timeline($("timeline"));

// ---- the dashboard view ----------------------------------------------------------------------

const dashboard = {
  title: null,
  async poll(stale) {
    const [jobsAnswer, { incidents }, timelineAnswer] = await Promise.all([
      api("/jobs"), api("/incidents"), api(`/timeline?hours=${state.hours}`),
    ]);
    if (stale()) return;
    const { jobs, now } = jobsAnswer;
    state.offsetMs = now - Date.now();
    renderJobs($("jobs-body"), jobs, now);
    $("jobs-table").hidden = jobs.length === 0;
    $("jobs-empty").hidden = jobs.length > 0;
    setText($("jobs-empty"), "No jobs yet: add some to the config and run jobclock reload.");
    renderSummary($("summary"), jobs);
    renderIncidents($("incidents"), $("incident-list"), incidents, now);
    timeline.update(timelineAnswer, jobs);
    setText($("timeline-caption"), caption(timelineAnswer));
    state.unhealthy = jobs.filter((job) => UNHEALTHY.includes(job.health?.state)).length;
    updateTitle();
  },
};

function readHours() {
  try {
    const hours = Number(localStorage.getItem(HOURS_KEY));
    return [1, 6, 24, 168].includes(hours) ? hours : 24;
  } catch {
    return 24;
  }
}

function chooseHours(hours) {
  state.hours = hours;
  try {
    localStorage.setItem(HOURS_KEY, String(hours));
  } catch {
    // Not remembered across reloads then; the choice still applies now.
  }
  renderRange($("range"), hours, chooseHours);
  refreshNow();
}

// ---- polling ---------------------------------------------------------------------------------
// One poll at a time, started at most every POLL_MS (a slow answer delays the next one),
// and none while the tab is hidden. An action or a new page asks for one at once.

let timer = 0;
let pollSeq = 0;
let staleUpTo = 0;
// Asked for during a poll (an action, a new page), one more poll follows right after it.
const polls = coalescing(pollAndPlanNext);

function cycle() {
  clearTimeout(timer);
  timer = 0;
  if (document.visibilityState !== "hidden") void polls.run();
}

async function pollAndPlanNext() {
  clearTimeout(timer); // a poll asked for meanwhile replaces the one planned
  timer = 0;
  if (document.visibilityState === "hidden") return; // hidden while waiting for its turn
  const startedAt = performance.now();
  await pollOnce();
  if (document.visibilityState !== "hidden") timer = setTimeout(cycle, Math.max(0, POLL_MS - (performance.now() - startedAt)));
}

/** Polls now; an answer already on its way is dropped, as it may predate what just changed. */
function refreshNow() {
  staleUpTo = pollSeq;
  void cycle();
}

async function pollOnce() {
  const seq = ++pollSeq;
  const stale = () => seq <= staleUpTo;
  try {
    if (!state.meta) await loadMeta();
    // "idle": the page asked nothing (a finished run does not change), so nothing was refreshed.
    if ((await (state.page ?? dashboard).poll(stale)) !== "idle") showOnline();
  } catch (error) {
    showProblem(error);
  }
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refreshNow();
  else clearTimeout(timer);
});

// ---- header, banner, toast -------------------------------------------------------------------

async function loadMeta() {
  const meta = await api("/meta");
  state.meta = meta;
  state.offsetMs = meta.now - Date.now();
  setText($("version"), `v${meta.version}`);
  setText($("instance"), `instance ${meta.instanceId}`);
  updateTokenButton();
  // The other instances sharing the store are worth a glance, but never worth failing for.
  try {
    const { instances } = await api("/instances");
    const live = instances.filter((i) => i.live);
    $("instance").title = `Served by ${meta.instanceId}. Live instances: ${live.map((i) => `${i.id} (${i.host})`).join(", ") || "none"}`;
    if (live.length > 1) setText($("instance"), `instance ${meta.instanceId} · ${live.length} live`);
  } catch {
    $("instance").title = `Served by ${meta.instanceId}`;
  }
}

function showOnline() {
  setText($("refreshed"), fmtTime(Date.now()));
  $("refreshed").setAttribute("datetime", new Date().toISOString());
  $("banner").hidden = true;
  document.body.classList.remove("offline");
}

function showProblem(error) {
  const banner = $("banner");
  banner.hidden = false;
  if (error instanceof Unreachable) {
    // The daemon may come back as another instance, maybe another version: ask again then.
    state.meta = null;
    document.body.classList.add("offline");
    banner.className = "banner banner-error";
    setText(banner, "Cannot reach the jobclock daemon: it may be stopped. The data below is from the last successful refresh; retrying every 2 s.");
  } else if (error instanceof ApiError && error.status === 401) {
    state.tokenRefused = true;
    updateTokenButton();
    banner.className = "banner banner-warn";
    setText(banner, getToken()
      ? "The saved token was refused: it is wrong or was changed. Enter the daemon's http.token."
      : "This jobclock needs a token to show its data. Enter the daemon's http.token.");
    openTokenPanel();
  } else {
    banner.className = "banner banner-error";
    setText(banner, `The daemon answered with an error: ${describeError(error)}`);
  }
}

function updateTitle() {
  const where = state.page?.title ? `${state.page.title} · ` : "";
  const alarm = state.unhealthy ? `(${state.unhealthy} unhealthy) ` : "";
  document.title = `${alarm}${where}jobclock`;
}

let toastTimer = 0;

function toast(message, isError = false) {
  const node = $("toast");
  setText(node, message);
  node.classList.toggle("toast-error", isError);
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, isError ? 8000 : 4000);
}

// ---- actions ---------------------------------------------------------------------------------

// One listener for every pause/resume/trigger button, in the table and on the job page alike.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-action][data-job-name]") : null;
  if (button) void act(button);
});

async function act(button) {
  // aria-busy rather than disabled: disabling would drop the keyboard focus from the button.
  if (button.getAttribute("aria-busy") === "true") return;
  const { action, jobName: name } = button.dataset;
  button.setAttribute("aria-busy", "true");
  try {
    await api(`/jobs/${encodeURIComponent(name)}/${action}`, { method: "POST" });
    toast(DONE[action](name));
  } catch (error) {
    toast(`Could not ${action} ${name}: ${describeError(error)}`, true);
    if (error instanceof ApiError && error.status === 401) {
      state.tokenRefused = true;
      updateTokenButton();
      openTokenPanel();
    }
  } finally {
    button.removeAttribute("aria-busy");
    refreshNow();
  }
}

// ---- token -----------------------------------------------------------------------------------

function updateTokenButton() {
  const needed = state.tokenRefused || Boolean(state.meta?.auth.writes || state.meta?.auth.reads);
  const button = $("token-button");
  button.hidden = !needed && !getToken();
  setText(button, getToken() ? "Token ✓" : "Set token");
  button.classList.toggle("btn-warn", needed && !getToken());
  button.title = state.meta?.auth.reads ? "Reads and changes need the API token" : "Pause, resume and trigger need the API token";
}

function openTokenPanel() {
  const panel = $("token-panel");
  if (!panel.hidden) return;
  panel.hidden = false;
  $("token-button").setAttribute("aria-expanded", "true");
  // Do not steal the focus from a button the user is working with.
  if (document.activeElement === document.body || document.activeElement === $("token-button")) $("token-input").focus();
}

function closeTokenPanel() {
  $("token-panel").hidden = true;
  $("token-button").setAttribute("aria-expanded", "false");
}

function saveToken(token) {
  setToken(token);
  $("token-input").value = "";
  state.tokenRefused = false;
  closeTokenPanel();
  updateTokenButton();
  toast(token ? "Token saved in this browser." : "Token forgotten.");
  state.meta = null;
  refreshNow();
}

function setupToken() {
  $("token-button").addEventListener("click", () => ($("token-panel").hidden ? openTokenPanel() : closeTokenPanel()));
  $("token-save").addEventListener("click", () => saveToken($("token-input").value.trim()));
  $("token-forget").addEventListener("click", () => saveToken(""));
  $("token-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter") saveToken($("token-input").value.trim());
    if (event.key === "Escape") closeTokenPanel();
  });
}

// ---- routing ---------------------------------------------------------------------------------
// #/ is the dashboard, #/runs/<id> a run, #/jobs/<name> a job. The dashboard stays in the DOM
// while a page is shown, so coming back is instant and lands where the user was.

function route() {
  const [kind, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  let arg = "";
  try {
    arg = decodeURIComponent(rest.join("/"));
  } catch {
    arg = "";
  }
  const wasDashboard = state.page === null;
  if (wasDashboard) state.dashboardScroll = window.scrollY;
  const context = { serverNow };
  state.page = kind === "runs" && arg ? runPage(arg, context) : kind === "jobs" && arg ? jobPage(arg, context) : null;
  $("page").replaceChildren(...(state.page ? [state.page.root] : []));
  $("dashboard").hidden = state.page !== null;
  if (state.page) {
    window.scrollTo(0, 0);
    const heading = state.page.root.querySelector("h1");
    heading?.setAttribute("tabindex", "-1");
    heading?.focus({ preventScroll: true });
  } else if (!wasDashboard) {
    window.scrollTo(0, state.dashboardScroll);
  }
  updateTitle();
  refreshNow();
}

// ---- start -----------------------------------------------------------------------------------

setupToken();
renderRange($("range"), state.hours, chooseHours);
renderLegend($("legend"));
updateTokenButton();
window.addEventListener("hashchange", route);
route();
