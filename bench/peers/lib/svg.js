// The lateness chart (docs/peers-lateness.svg), drawn by hand: one row per system, a log-scale
// axis in milliseconds, whiskers from p1 to p99, a box from p25 to p75, a line at the median and
// a dot at the maximum.

const W = 900, LEFT = 230, RIGHT = 30, ROW = 34, TOP = 56, BOTTOM = 68;
const COLORS = { jobclock: "#1f6feb", "jobclock-pg": "#1f6feb", persistent: "#8250df", "in-memory": "#1a7f37", "worker-thread": "#bf8700" };

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function latenessSvg(rows, { title, subtitle }) {
  const max = Math.max(1_000, ...rows.map((r) => r.dist.p100 ?? 0));
  const decades = Math.ceil(Math.log10(max));
  const lo = -1; // 0.1 ms: values at or below 0 are drawn there
  const x = (ms) => LEFT + ((Math.log10(Math.max(ms, 0.1)) - lo) / (decades - lo)) * (W - LEFT - RIGHT);
  const H = TOP + rows.length * ROW + BOTTOM;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`,
    `<text x="${W / 2}" y="38" text-anchor="middle" fill="#57606a">${esc(subtitle)}</text>`,
  ];
  const labels = { "-1": "0.1 ms", 0: "1 ms", 1: "10 ms", 2: "100 ms", 3: "1 s", 4: "10 s", 5: "100 s", 6: "1000 s" };
  for (let d = lo; d <= decades; d++) {
    const px = x(10 ** d);
    out.push(`<line x1="${px}" y1="${TOP - 6}" x2="${px}" y2="${H - BOTTOM + 6}" stroke="#d0d7de" stroke-dasharray="${d === lo ? "" : "3,3"}"/>`);
    out.push(`<text x="${px}" y="${H - BOTTOM + 22}" text-anchor="middle" fill="#57606a">${labels[d] ?? `1e${d} ms`}</text>`);
  }
  out.push(`<text x="${(LEFT + W - RIGHT) / 2}" y="${H - BOTTOM + 40}" text-anchor="middle" fill="#57606a">lateness: job body start − due slot (log scale; ≤ 0.1 ms drawn at 0.1 ms)</text>`);
  rows.forEach((r, i) => {
    const cy = TOP + i * ROW + ROW / 2;
    const color = COLORS[r.id] ?? COLORS[r.kind] ?? "#57606a";
    if (i % 2 === 0) out.push(`<rect x="0" y="${cy - ROW / 2}" width="${W}" height="${ROW}" fill="#f6f8fa"/>`);
    out.push(`<text x="${LEFT - 10}" y="${cy - 2}" text-anchor="end" font-weight="600">${esc(r.label)}</text>`);
    out.push(`<text x="${LEFT - 10}" y="${cy + 11}" text-anchor="end" fill="#57606a" font-size="10.5">${esc(r.note)}</text>`);
    if (!r.dist || r.dist.samples === 0) {
      out.push(`<text x="${LEFT + 8}" y="${cy + 4}" fill="#cf222e">${esc(r.missing ?? "no samples")}</text>`);
      return;
    }
    const d = r.dist;
    out.push(`<line x1="${x(d.p1)}" y1="${cy}" x2="${x(d.p99)}" y2="${cy}" stroke="${color}" stroke-width="1.5"/>`);
    for (const p of [d.p1, d.p99]) out.push(`<line x1="${x(p)}" y1="${cy - 6}" x2="${x(p)}" y2="${cy + 6}" stroke="${color}" stroke-width="1.5"/>`);
    const bw = Math.max(2, x(d.p75) - x(d.p25));
    out.push(`<rect x="${x(d.p25)}" y="${cy - 9}" width="${bw}" height="18" fill="${color}" fill-opacity="0.25" stroke="${color}"/>`);
    out.push(`<line x1="${x(d.p50)}" y1="${cy - 9}" x2="${x(d.p50)}" y2="${cy + 9}" stroke="${color}" stroke-width="2.5"/>`);
    out.push(`<circle cx="${x(d.p100)}" cy="${cy}" r="3.5" fill="#ffffff" stroke="${color}" stroke-width="1.5"/>`);
    const caption = `p50 ${fmt(d.p50)} · p99 ${fmt(d.p99)} · max ${fmt(d.p100)}`;
    const nearEdge = x(d.p100) > W - RIGHT - 200;
    out.push(`<text x="${nearEdge ? x(d.p25) - 8 : x(d.p100) + 8}" y="${cy - 10}" text-anchor="${nearEdge ? "end" : "start"}" fill="#57606a" font-size="10">${caption}</text>`);
  });
  const ly = H - BOTTOM + 58;
  out.push(`<text x="${LEFT}" y="${ly}" fill="#57606a" font-size="10.5">whiskers p1–p99 · box p25–p75 · bar median · ○ max</text>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function fmt(ms) {
  if (ms === null || ms === undefined) return "—";
  return ms >= 1_000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s` : `${Math.round(ms)} ms`;
}
