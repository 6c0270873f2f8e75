// tsc compiles TypeScript only; the SQL migrations travel next to the compiled stores, and the
// dashboard's plain files next to the compiled HTTP server.
import { cpSync, mkdirSync } from "node:fs";

for (const dialect of ["sqlite", "postgres"]) {
  const from = `src/store/${dialect}/migrations`;
  const to = `dist/store/${dialect}/migrations`;
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true });
}

mkdirSync("dist/http/dashboard", { recursive: true });
cpSync("src/http/dashboard", "dist/http/dashboard", { recursive: true });
