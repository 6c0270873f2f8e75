// tsc compiles TypeScript only; the SQL migrations travel next to the compiled stores.
import { cpSync, mkdirSync } from "node:fs";

for (const dialect of ["sqlite", "postgres"]) {
  const from = `src/store/${dialect}/migrations`;
  const to = `dist/store/${dialect}/migrations`;
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true });
}
