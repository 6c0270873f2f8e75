// The SVG timeline: one row per job, a faint strip of per-bucket counts (every run of the
// window) under bars for the newest runs (start to finish), overlapping runs in separate lanes.
import { el, fmtDay, fmtDuration, fmtHourMinute, fmtTime, jobHref, runHref, setAttr, setText, setVariant, svg } from "./dom.js";

// Which status colours a bucket that holds several: the worst one is what people look for.
const WORST_FIRST = ["abandoned", "failed", "timed_out", "missed", "cancelled", "skipped", "running", "succeeded"];
// Records without a start (skipped, missed) stand for a slot, not a span: drawn as markers.
const MARKERS = new Set(["skipped", "missed"]);
export const LEGEND = ["succeeded", "running", "failed", "timed_out", "abandoned", "cancelled", "skipped", "missed"];

const AXIS_H = 26;
const MIN_PLOT_W = 640;
const PAD_RIGHT = 8;
const MIN_BAR_W = 2;
const MAX_LANES = 4;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const TICK_STEPS = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * MINUTE);

export class Timeline {
  constructor(root) {
    this.root = root;
    this.labels = svg("svg", { class: "tl-labels" });
    this.plot = svg("svg", { class: "tl-plot" });
    this.scroller = el("div", { class: "tl-scroll" }, this.plot);
    this.layers = {
      rows: svg("g"), buckets: svg("g", { class: "tl-buckets" }), ticks: svg("g", { class: "tl-ticks" }),
      runs: svg("g", { class: "tl-runs" }), now: svg("g", { class: "tl-now" }),
    };
    this.plot.append(...Object.values(this.layers));
    this.bars = new Map();
    this.bucketKey = "";
    this.rowsKey = "";
    this.data = null;
    this.drawnOnce = false;
    root.setAttribute("aria-label", "Runs per job over time");
    root.append(this.labels, this.scroller);
    // Widths change with the window (and from 0 when the dashboard comes back into view).
    new ResizeObserver(() => this.draw()).observe(root);
  }

  /** timeline: the /api/v1/timeline answer; jobs: the table's jobs, whose order the rows follow. */
  update(timeline, jobs) {
    this.data = { timeline, names: jobs.map((j) => j.name) };
    this.draw();
  }

  draw() {
    if (!this.data || this.root.clientWidth === 0) return;
    const { timeline, names } = this.data;
    // Shown from the first draw on, so the scroller has a width to scroll in.
    this.root.classList.add("drawn");
    const atEnd = this.scroller.scrollLeft + this.scroller.clientWidth >= this.scroller.scrollWidth - 4;
    const g = this.geometry(timeline, names);
    for (const node of [this.labels, this.plot]) setAttr(node, "height", g.height);
    setAttr(this.labels, "width", g.labelW);
    setAttr(this.plot, "width", g.plotW);
    this.drawRows(g, names);
    this.drawTicks(g, timeline);
    this.drawBuckets(g, timeline, names);
    this.drawRuns(g, timeline, names);
    this.drawNow(g, timeline);
    // Start at the present (the right end) and stay there, unless the user scrolled back.
    if (!this.drawnOnce || atEnd) this.scroller.scrollLeft = this.scroller.scrollWidth;
    this.drawnOnce = true;
  }

  geometry(timeline, names) {
    const narrow = this.root.clientWidth < 600;
    const labelW = narrow ? 96 : 160;
    const plotW = Math.max(MIN_PLOT_W, this.root.clientWidth - labelW - 2);
    // Legible up to ~50 jobs; beyond that rows shrink so the whole picture stays in view.
    const rowH = names.length <= 15 ? 30 : Math.max(12, Math.min(30, Math.floor(900 / names.length)));
    const span = timeline.to - timeline.from;
    const usable = plotW - PAD_RIGHT;
    return {
      labelW, plotW, rowH, usable,
      height: AXIS_H + Math.max(1, names.length) * rowH + 2,
      x: (t) => ((t - timeline.from) / span) * usable,
      rowY: (i) => AXIS_H + i * rowH,
    };
  }

  drawRows(g, names) {
    // The labels are links: rebuilding them on every poll would drop a keyboard user's focus.
    const key = JSON.stringify([names, g.labelW, g.plotW, g.rowH]);
    if (key === this.rowsKey) return;
    this.rowsKey = key;
    const rowRects = (width) => names.map((name, i) => svg("rect", { class: i % 2 ? "tl-row odd" : "tl-row", x: 0, y: g.rowY(i), width, height: g.rowH }));
    const fontSize = Math.min(13, g.rowH - 5);
    const maxChars = Math.floor((g.labelW - 14) / (fontSize * 0.6));
    const labels = names.map((name, i) => {
      const shown = name.length > maxChars ? `${name.slice(0, maxChars - 1)}…` : name;
      return svg("a", { href: jobHref(name), class: "tl-label" },
        svg("title", { text: name }),
        svg("text", { x: 8, y: g.rowY(i) + g.rowH / 2, "dominant-baseline": "central", "font-size": fontSize, text: shown }));
    });
    this.labels.replaceChildren(...rowRects(g.labelW), ...labels);
    this.layers.rows.replaceChildren(...rowRects(g.plotW));
  }

  drawTicks(g, timeline) {
    const hourPx = (g.usable / (timeline.to - timeline.from)) * HOUR;
    const step = TICK_STEPS.find((s) => (s / HOUR) * hourPx >= 14) ?? TICK_STEPS.at(-1);
    const labelStep = TICK_STEPS.find((s) => s >= step && (s / HOUR) * hourPx >= 64) ?? TICK_STEPS.at(-1);
    const nodes = [];
    for (const t of tickTimes(timeline.from, timeline.to, step)) {
      const x = round(g.x(t));
      const major = isOnStep(t, labelStep);
      nodes.push(svg("line", { class: major ? "tick major" : "tick", x1: x, x2: x, y1: AXIS_H - 4, y2: g.height }));
      // Leave room for the "now" label at the right end.
      if (major && x > 16 && x < g.usable - 44) {
        const midnight = new Date(t).getHours() === 0 && new Date(t).getMinutes() === 0;
        nodes.push(svg("text", { class: midnight ? "tick-label day" : "tick-label", x, y: AXIS_H - 9, "text-anchor": "middle", text: midnight ? fmtDay(t) : fmtHourMinute(t) }));
      }
    }
    this.layers.ticks.replaceChildren(...nodes);
  }

  drawBuckets(g, timeline, names) {
    // The strips are many small rects: rebuild them only when the counts or the layout change.
    const key = JSON.stringify([timeline.counts, names, g.plotW, g.rowH]);
    if (key === this.bucketKey) return;
    this.bucketKey = key;
    const rowOf = new Map(names.map((name, i) => [name, i]));
    const cells = new Map();
    for (const c of timeline.counts) {
      if (!rowOf.has(c.job)) continue;
      const id = `${c.job}\u0000${c.bucket}`;
      const cell = cells.get(id) ?? { job: c.job, bucket: c.bucket, byStatus: new Map() };
      cell.byStatus.set(c.status, (cell.byStatus.get(c.status) ?? 0) + c.n);
      cells.set(id, cell);
    }
    const w = g.usable / timeline.buckets;
    const nodes = [...cells.values()].map((cell) => {
      const worst = WORST_FIRST.find((s) => cell.byStatus.has(s)) ?? "succeeded";
      const start = timeline.from + cell.bucket * timeline.bucketMs;
      const summary = [...cell.byStatus].map(([s, n]) => `${n} ${s}`).join(", ");
      return svg("rect", {
        class: `tl-bucket st-${worst}`, x: round(cell.bucket * w), y: g.rowY(rowOf.get(cell.job)) + 1,
        width: round(w + 0.5), height: g.rowH - 2,
      }, svg("title", { text: `${cell.job} ${fmtHourMinute(start)}–${fmtHourMinute(start + timeline.bucketMs)}: ${summary}` }));
    });
    this.layers.buckets.replaceChildren(...nodes);
  }

  drawRuns(g, timeline, names) {
    const rowOf = new Map(names.map((name, i) => [name, i]));
    const byJob = new Map();
    for (const run of timeline.runs) {
      if (!rowOf.has(run.job)) continue;
      if (!byJob.has(run.job)) byJob.set(run.job, []);
      byJob.get(run.job).push(run);
    }
    const seen = new Set();
    for (const [job, runs] of byJob) {
      const lanes = assignLanes(runs, timeline.to);
      const laneCount = Math.min(MAX_LANES, Math.max(1, ...lanes.values()) + 1);
      for (const run of runs) {
        seen.add(run.id);
        const shape = runShape(g, run, rowOf.get(job), lanes.get(run.id) ?? 0, laneCount, timeline.to);
        this.placeRun(run, shape, timeline.to);
      }
    }
    for (const [id, node] of this.bars) {
      if (!seen.has(id)) {
        node.remove();
        this.bars.delete(id);
      }
    }
  }

  /** Creates or moves one run's bar or marker; kept by run id so focus and hover survive. */
  placeRun(run, shape, now) {
    let node = this.bars.get(run.id);
    if (node && node.dataset.shape !== shape.kind) {
      node.remove();
      node = undefined;
    }
    if (!node) {
      node = svg("a", { href: runHref(run.id), class: "tl-run", "data-run-id": run.id, "data-shape": shape.kind },
        svg(shape.kind), svg("title"));
      this.bars.set(run.id, node);
      this.layers.runs.append(node);
    }
    setAttr(node, "data-status", run.status);
    setVariant(node, "st-", run.status);
    node.classList.toggle("tl-marker", shape.kind === "polygon");
    const [body, title] = node.children;
    for (const [name, value] of Object.entries(shape.attrs)) setAttr(body, name, value);
    setText(title, runTitle(run, now));
  }

  drawNow(g, timeline) {
    const x = round(g.x(timeline.to));
    this.layers.now.replaceChildren(
      svg("line", { x1: x, x2: x, y1: AXIS_H - 4, y2: g.height }),
      svg("text", { x: x - 3, y: AXIS_H - 9, "text-anchor": "end", text: "now" }),
    );
  }
}

/** Greedy interval partitioning: a run goes into the first lane free at its start. */
function assignLanes(runs, now) {
  const laneEnds = [];
  const lanes = new Map();
  const spans = runs.filter((r) => !MARKERS.has(r.status)).map((r) => ({ id: r.id, ...span(r, now) })).sort((a, b) => a.start - b.start);
  for (const s of spans) {
    let lane = laneEnds.findIndex((end) => end <= s.start);
    if (lane === -1) lane = laneEnds.length < MAX_LANES ? laneEnds.length : laneEnds.indexOf(Math.min(...laneEnds));
    laneEnds[lane] = Math.max(laneEnds[lane] ?? 0, s.end);
    lanes.set(s.id, lane);
  }
  return lanes;
}

function span(run, now) {
  const start = run.startedAt ?? run.slot ?? run.createdAt;
  const end = run.finishedAt ?? (run.status === "running" ? now : start);
  return { start, end: Math.max(start, end) };
}

function runShape(g, run, row, lane, laneCount, now) {
  const top = g.rowY(row);
  const pad = g.rowH >= 20 ? 5 : 2;
  if (MARKERS.has(run.status)) {
    const cx = round(Math.max(0, g.x(run.slot ?? run.createdAt)));
    const cy = top + g.rowH / 2;
    const r = Math.max(3, Math.min(6, g.rowH / 2 - pad));
    return { kind: "polygon", attrs: { points: `${cx},${cy - r} ${cx + r},${cy} ${cx},${cy + r} ${cx - r},${cy}` } };
  }
  const { start, end } = span(run, now);
  const gap = 1;
  const laneH = (g.rowH - 2 * pad - gap * (laneCount - 1)) / laneCount;
  const x1 = Math.max(0, g.x(start));
  const x2 = Math.max(x1 + MIN_BAR_W, g.x(end));
  return {
    kind: "rect",
    attrs: { x: round(x1), y: round(top + pad + Math.min(lane, laneCount - 1) * (laneH + gap)), width: round(x2 - x1), height: round(Math.max(2, laneH)), rx: laneH >= 6 ? 2 : 0 },
  };
}

function runTitle(run, now) {
  const head = `#${run.id} ${run.job}: ${run.status} (${run.trigger})`;
  if (MARKERS.has(run.status)) return `${head}\nslot ${fmtTime(run.slot, now)}`;
  const end = run.finishedAt ?? now;
  const took = run.startedAt ? `${run.finishedAt ? "" : "so far "}${fmtDuration(end - run.startedAt)}` : "";
  return `${head}\nstarted ${fmtTime(run.startedAt, now)} · ${took}`;
}

/** Local-time tick positions (whole hours, whole minutes) every `step` between from and to. */
function tickTimes(from, to, step) {
  const times = [];
  const unit = step >= HOUR ? HOUR : MINUTE;
  const d = new Date(from);
  d.setMinutes(unit === HOUR ? 0 : d.getMinutes(), 0, 0);
  for (let t = d.getTime(); t <= to; t += unit) {
    if (t >= from && isOnStep(t, step)) times.push(t);
  }
  return times;
}

function isOnStep(t, step) {
  const d = new Date(t);
  if (step >= HOUR) return d.getMinutes() === 0 && (d.getHours() % (step / HOUR)) === 0;
  return d.getMinutes() % (step / MINUTE) === 0;
}

function round(n) {
  return Math.round(n * 10) / 10;
}

/** The status swatches under the timeline. */
export function renderLegend(node) {
  node.replaceChildren(...LEGEND.map((status) => el("span", { class: "legend-item" },
    el("span", { class: `swatch st-${status}${MARKERS.has(status) ? " swatch-marker" : ""}` }), status)));
  node.append(el("span", { class: "legend-item muted" }, el("span", { class: "swatch swatch-strip" }), "all runs per interval (worst status)"));
}

/** The range buttons (1 h … 7 d); calls onChange(hours). */
export function renderRange(node, hours, onChange) {
  const choices = [[1, "1 h"], [6, "6 h"], [24, "24 h"], [168, "7 d"]];
  node.replaceChildren(...choices.map(([h, label]) => el("button", {
    type: "button", class: "btn btn-small", "aria-pressed": h === hours ? "true" : "false", text: label,
    onclick: () => onChange(h),
  })));
}

export function caption(timeline) {
  const hours = Math.round((timeline.to - timeline.from) / HOUR);
  const window = hours % 24 === 0 && hours > 24 ? `${hours / 24} d` : `${hours} h`;
  return `last ${window} · ${fmtDuration(timeline.bucketMs)} intervals · newest ${timeline.runsPerJob} runs per job drawn`;
}
