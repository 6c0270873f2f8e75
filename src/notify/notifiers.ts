import { createHash } from "node:crypto";
import type { NotificationFacts } from "./facts.js";
import { post, type PostResult } from "./http.js";
import { slackDigest, slackMessage } from "./slack.js";
import { webhookRequest } from "./webhook.js";

export interface NotifyConfig {
  slack?: { webhook: string; channel?: string; username?: string };
  webhooks?: { url: string; secret?: string }[];
}

/** A destination for notifications. Its `id` is stable and URL-free, so it can be stored and logged. */
export interface Notifier {
  id: string;
  label: string;
  /** More deliveries than this due at once are sent as one digest (Slack); Infinity: never. */
  digestAbove: number;
  /** At most one request per this many ms (Slack asks for about one message a second). */
  minIntervalMs: number;
  send(batch: NotificationFacts[], now: number, stop?: AbortSignal): Promise<PostResult>;
}

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

export function notifiersFrom(config: NotifyConfig | null | undefined, timeoutMs = DEFAULT_HTTP_TIMEOUT_MS): Notifier[] {
  const out: Notifier[] = [];
  const slack = config?.slack;
  if (slack) {
    out.push({
      id: `slack:${fingerprint(slack.webhook)}`,
      label: "slack",
      digestAbove: 3,
      minIntervalMs: 1_000,
      send: (batch, _now, stop) => {
        const message = batch.length === 1 ? slackMessage(batch[0]!, slack) : slackDigest(batch, slack);
        return post(slack.webhook, JSON.stringify(message), { "content-type": "application/json" }, timeoutMs, stop);
      },
    });
  }
  for (const hook of config?.webhooks ?? []) {
    out.push({
      id: `webhook:${fingerprint(hook.url)}`,
      label: `webhook ${safeHost(hook.url)}`,
      digestAbove: Infinity,
      minIntervalMs: 0,
      send: (batch, now, stop) => {
        const { body, headers } = webhookRequest(batch[0]!, hook.secret, now);
        return post(hook.url, body, headers, timeoutMs, stop);
      },
    });
  }
  return out;
}

function fingerprint(url: string): string {
  return createHash("sha256").update(url).digest("hex").slice(0, 10);
}

/** The host is enough to tell webhooks apart in a log; the path and query may hold a token. */
function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid url)";
  }
}
