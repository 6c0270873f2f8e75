import { createConnection } from "node:net";

export const PG_BASE = process.env.JOBCLOCK_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * Whether the local PostgreSQL answers. It is on every machine of this project: in CI its
 * absence is a failure, never a skip; elsewhere the tests skip after saying why.
 */
export async function postgresUp(): Promise<boolean> {
  const up = await new Promise<boolean>((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port: 5432 }, () => (s.end(), resolve(true)));
    s.on("error", () => resolve(false));
  });
  if (up) return true;
  if (process.env.CI === "true") throw new Error("PostgreSQL is required in CI at 127.0.0.1:5432 (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)");
  console.warn("skipping: no PostgreSQL at 127.0.0.1:5432");
  return false;
}
