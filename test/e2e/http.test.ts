import { existsSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BASE_CONFIG, daemonUrl, project, stopForGood } from "../helpers/cli.js";

const JOB = `jobs:\n  hello: { every: 1h, shell: "echo hi" }\n`;

describe("the daemon's HTTP server", () => {
  it("serves the dashboard and the API while it runs, and closes the port when it stops", async () => {
    const p = project(BASE_CONFIG + JOB);
    try {
      expect((await p.run(["start"])).code).toBe(0);
      const url = await daemonUrl(p.dir);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
      expect(await page.text()).toMatch(/<html/i);
      const jobs = (await (await fetch(`${url}api/v1/jobs`)).json()) as { jobs: { name: string }[] };
      expect(jobs.jobs.map((j) => j.name)).toEqual(["hello"]);
      expect((await p.run(["status"])).stdout).toMatch(/^http: +127\.0\.0\.1, an ephemeral port/m);
      expect((await p.run(["stop"])).code).toBe(0);
      await expect(fetch(`${url}healthz`)).rejects.toThrow();
    } finally {
      await stopForGood(p);
    }
  });

  it("refuses to start when its port is taken, saying which setting to change, and leaves nothing behind", async () => {
    const squatter = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => squatter.once("listening", r));
    const port = (squatter.address() as AddressInfo).port;
    const p = project(BASE_CONFIG.replace('http: { listen: "127.0.0.1:0" }', `http: { listen: "127.0.0.1:${port}" }`) + JOB);
    try {
      const start = await p.run(["start"]);
      expect(start.code).toBe(1);
      expect(start.stderr).toMatch(new RegExp(`http\\.listen 127\\.0\\.0\\.1:${port} is in use by another process; set http\\.listen to another address or port, or http: false`));
      expect(existsSync(join(p.dir, "run/jobclock.pid"))).toBe(false);
      expect((await p.run(["status"])).code).toBe(3);
    } finally {
      squatter.close();
      await stopForGood(p);
    }
  });
});
