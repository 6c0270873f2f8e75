import { formatDuration } from "../schedule/duration.js";
import type { NotificationFacts } from "./facts.js";

export interface SlackOptions {
  channel?: string;
  username?: string;
}

const ICON: Record<string, string> = {
  inactive: ":zzz:", delayed: ":hourglass_flowing_sand:", failing: ":x:", ok: ":white_check_mark:",
  running: ":white_check_mark:", paused: ":double_vertical_bar:",
};

/** Slack's control characters: `<!channel>` in an error line must not become a real mention. */
function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// Slack refuses a section text over 3,000 characters.
const SECTION_LIMIT = 2_900;

/** One incident, for people: Block Kit sections with a plain-text fallback. */
export function slackMessage(raw: NotificationFacts, o: SlackOptions): Record<string, unknown> {
  const f: NotificationFacts = {
    ...raw, job: esc(raw.job), reason: esc(raw.reason), description: raw.description && esc(raw.description),
    errorLines: raw.errorLines.map(esc), host: esc(raw.host), instance: esc(raw.instance),
  };
  const title = headline(f);
  const fields = [
    `*State*\n${f.state}${f.since ? ` since ${when(f.since)}` : ""}`,
    `*Last run*\n${lastRun(f)}`,
    `*Next slot*\n${f.nextSlot ? when(f.nextSlot) : "—"}`,
    `*Where*\n${f.host} (${f.instance})`,
  ];
  const blocks: unknown[] = [
    { type: "section", text: { type: "mrkdwn", text: `${ICON[f.state] ?? ""} *${title}*\n${f.reason}` } },
    { type: "section", fields: fields.map((text) => ({ type: "mrkdwn", text })) },
  ];
  if (f.errorLines.length > 0) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: "```" + f.errorLines.join("\n").replace(/```/g, "ʼʼʼ").slice(0, SECTION_LIMIT) + "```" } });
  }
  if (f.description) blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: f.description }] });
  const text = [`${title}: ${f.reason}.`, `Last run: ${lastRun(f)}.`, f.errorLines[0] ? `Error: ${f.errorLines[0]}` : ""]
    .filter(Boolean)
    .join(" ");
  return withRouting({ text, blocks }, o);
}

/** A burst (say 200 jobs delayed when a database dies) becomes one message. */
export function slackDigest(all: NotificationFacts[], o: SlackOptions): Record<string, unknown> {
  const byState = new Map<string, NotificationFacts[]>();
  for (const f of all) {
    const key = f.kind === "recovered" ? "recovered" : f.state;
    byState.set(key, [...(byState.get(key) ?? []), f]);
  }
  const summary = [...byState.entries()].map(([state, fs]) => `${fs.length} ${state}`).join(", ");
  const title = `jobclock: ${all.length} job notifications (${summary})`;
  const blocks: unknown[] = [{ type: "section", text: { type: "mrkdwn", text: `*${title}*` } }];
  for (const [state, fs] of byState) {
    // As many names as fit in one section (and at most 40), then a count of the rest.
    let names = "";
    let shown = 0;
    for (const f of fs.slice(0, 40)) {
      const next = `${shown ? ", " : ""}\`${esc(f.job)}\``;
      if (names.length + next.length > SECTION_LIMIT - 200) break;
      names += next;
      shown++;
    }
    const more = fs.length > shown ? ` and ${fs.length - shown} more` : "";
    blocks.push({ type: "section", text: { type: "mrkdwn", text: `${ICON[state] ?? ":white_check_mark:"} *${state}* (${fs.length}): ${names}${more}` } });
  }
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: `${all[0]?.host ?? ""} · \`jobclock check\` lists them` }] });
  return withRouting({ text: title, blocks }, o);
}

function headline(f: NotificationFacts): string {
  switch (f.kind) {
    case "recovered": return `${f.job} recovered`;
    case "reminder": return `${f.job} is still ${f.state}`;
    case "changed": return `${f.job} is now ${f.state} (was ${f.previousState})`;
    case "test": return "jobclock test notification";
    default: return `${f.job} is ${f.state}`;
  }
}

function lastRun(f: NotificationFacts): string {
  const r = f.lastRun;
  if (!r) return "never ran";
  const took = r.durationMs !== null ? `, took ${formatDuration(r.durationMs)}` : "";
  return `#${r.id} ${r.status ?? "running"}${r.startedAt ? ` at ${when(r.startedAt)}` : ""}${took}`;
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z").replace("T", " ");
}

function withRouting(message: Record<string, unknown>, o: SlackOptions): Record<string, unknown> {
  if (o.channel) message.channel = o.channel;
  if (o.username) message.username = o.username;
  return message;
}
