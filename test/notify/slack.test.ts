import { describe, expect, it } from "vitest";
import { slackDigest, slackMessage } from "../../src/notify/slack.js";
import type { NotificationFacts } from "../../src/notify/facts.js";

const base: NotificationFacts = {
  version: 1, kind: "opened", job: "j", description: null, state: "failing", previousState: null, since: 0, reason: "r",
  lastRun: null, nextSlot: null, errorLines: [], host: "h", instance: "i", at: 0,
};

describe("Slack formatting", () => {
  it("escapes Slack's control characters, so output can not @-mention a channel", () => {
    const m = slackMessage({ ...base, errorLines: ["<!channel> disk & memory > 90%"] }, {});
    expect(JSON.stringify(m)).toContain("&lt;!channel&gt; disk &amp; memory &gt; 90%");
    expect(JSON.stringify(m)).not.toContain("<!channel>");
  });

  it("keeps a digest of long job names under Slack's section limit", () => {
    const long = Array.from({ length: 200 }, (_, i) => ({ ...base, job: `${"x".repeat(120)}-${i}`, state: "delayed" as const }));
    const d = slackDigest(long, {}) as { blocks: { text?: { text: string } }[] };
    for (const b of d.blocks) expect((b.text?.text ?? "").length).toBeLessThanOrEqual(3_000);
    expect(JSON.stringify(d)).toMatch(/and \d+ more/);
  });
});
