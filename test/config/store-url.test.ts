import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { redactStoreUrl, resolveStoreUrl } from "../../src/config/store-url.js";
import { parseConfig } from "../../src/config/load.js";
import { StoreError } from "../../src/errors.js";
import { openStore } from "../../src/store/open-store.js";
import { tempDir } from "../helpers/spec.js";

/** Each form the issue found leaking, with the secret text that must not show in any output. */
const LEAKS: [url: string, secrets: string[], shown: string][] = [
  ["postgres://alice:S3CRET@db.internal:5432/jobs", ["S3CRET"], "postgres://alice:***@db.internal:5432/jobs"],
  ["postgres://:S3CRET@db.internal/jobs", ["S3CRET"], "postgres://:***@db.internal/jobs"],
  ["postgres://alice:RET@PW@db.internal/jobs", ["RET", "PW@"], "postgres://alice:***@db.internal/jobs"],
  ["postgres://alice:pa/ss?w#rd@db.internal/jobs", ["pa/ss", "w#rd"], "postgres://alice:***@db.internal/jobs"],
  ["postgres://alice:p:a:ss@db.internal/jobs", ["p:a:ss", "a:ss"], "postgres://alice:***@db.internal/jobs"],
  ["POSTGRES://alice:UPPERPW@db.internal/jobs", ["UPPERPW"], "POSTGRES://alice:***@db.internal/jobs"],
  ["PostgreSQL://alice:MIXEDPW@db.internal/jobs", ["MIXEDPW"], "PostgreSQL://alice:***@db.internal/jobs"],
  ["mysql://u:TOPSECRET@h/db", ["TOPSECRET"], "mysql://u:***@h/db"],
  ["mysql:u:TOPSECRET@h/db", ["TOPSECRET"], "mysql:***@h/db"],
  ["postgres://db.internal/jobs?password=QSECRET", ["QSECRET"], "postgres://db.internal/jobs?password=***"],
  ["postgres://alice@db.internal/jobs?schema=x&Password=QSECRET&sslpassword=SSLSECRET", ["QSECRET", "SSLSECRET"],
    "postgres://alice@db.internal/jobs?schema=x&Password=***&sslpassword=***"],
  ["postgres://alice:S%33CR%45T@db.internal/jobs", ["S%33CR%45T", "S3CRET"], "postgres://alice:***@db.internal/jobs"],
  ["postgres://alice:pw@h/db?application_name=me@laptop", ["pw@"], "postgres://alice:***@laptop"],
];

describe("redactStoreUrl: one redaction for every URL that may carry credentials", () => {
  it.each(LEAKS)("%s", (url, secrets, shown) => {
    const out = redactStoreUrl(url);
    expect(out).toBe(shown);
    for (const secret of secrets) expect(out).not.toContain(secret);
  });

  it("leaves URLs without credentials and sqlite paths as they are", () => {
    for (const url of [
      "postgres://alice@db.internal:5432/jobs?schema=jobclock", "postgres://db.internal/jobs", "sqlite:/var/lib/jobclock/a@b:c.db",
      "sqlite:./data/jobclock.db", "just words", "",
    ]) expect(redactStoreUrl(url)).toBe(url);
  });

  it("the 'is not a store URL' problem for any scheme shows no password", () => {
    for (const [url, secrets] of LEAKS.filter(([u]) => !/^postgres/i.test(u))) {
      const problems: string[] = [];
      resolveStoreUrl(url, "/etc/jobclock", problems);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^store: ".*" is not a store URL/);
      for (const secret of secrets) expect(problems[0]).not.toContain(secret);
    }
  });

  it("accepts the postgres scheme in any case, and refuses an unparsable one without showing its password", () => {
    const problems: string[] = [];
    expect(resolveStoreUrl("POSTGRES://alice:UPPERPW@db.internal/jobs", "/x", problems)).toBe("postgres://alice:UPPERPW@db.internal/jobs");
    expect(resolveStoreUrl("PostgreSQL://alice@db.internal/jobs", "/x", problems)).toBe("postgresql://alice@db.internal/jobs");
    expect(resolveStoreUrl("SQLite:data/j.db", "/x", problems)).toBe("sqlite:/x/data/j.db");
    expect(problems).toEqual([]);
    resolveStoreUrl("postgres://alice:pa/ss@db.internal/jobs", "/x", problems);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/is not a valid PostgreSQL URL; .*percent-encode/);
    expect(problems[0]).not.toContain("pa/ss");
  });

  it("an unparsable URL reaching the store is a StoreError without the password, not a TypeError", async () => {
    const error = await openStore("postgres://alice:pa/ss@db.internal/jobs").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(JSON.stringify({ ...(error as object), message: (error as Error).message })).not.toContain("pa/ss");
  });
});

describe("store URLs with whitespace, unparsable ones, and bad escapes", () => {
  it("whitespace around the URL is trimmed, and redaction does not depend on the URL coming first", () => {
    for (const written of ["\tpostgres://u:S3CRET@h/db", " postgres://u:S3CRET@h/db", "postgres://u:S3CRET@h/db \n"]) {
      const problems: string[] = [];
      expect(resolveStoreUrl(written, "/x", problems)).toBe("postgres://u:S3CRET@h/db");
      expect(problems).toEqual([]);
      expect(redactStoreUrl(written)).not.toContain("S3CRET");
    }
    expect(redactStoreUrl("\tpostgres://u:S3CRET@h/db")).toBe("\tpostgres://u:***@h/db");
    expect(redactStoreUrl("see postgres://u:S3CRET@h/db")).toBe("see postgres://u:***@h/db");
    expect(redactStoreUrl("u:S3CRET@h/db")).not.toContain("S3CRET");
  });

  it("an unparsable URL without an @ shows nothing after scheme://user:", () => {
    const url = "postgres://postgres:S3CRET.127.0.0.1/postgres";
    expect(redactStoreUrl(url)).toBe("postgres://postgres:***");
    const problems: string[] = [];
    resolveStoreUrl(url, "/x", problems);
    expect(problems).toEqual([expect.stringMatching(/^store: "postgres:\/\/postgres:\*\*\*" is not a valid PostgreSQL URL; /)]);
  });

  it("a % not followed by two hex digits in the user, password or host is a config problem and a StoreError", async () => {
    for (const [url, what] of [["postgres://u:%ZZS3CRET@h/db", "password"], ["postgres://u%G1:S3CRET@h/db", "user"], ["postgres://u:S3CRET@h%ZZ/db", "host"]] as const) {
      const problems: string[] = [];
      resolveStoreUrl(url, "/x", problems);
      expect(problems).toEqual([`store: "${redactStoreUrl(url)}": the ${what} has a "%" that is not followed by two hex digits; write a literal % as %25`]);
      expect(problems[0]).not.toContain("S3CRET");
      const error = await openStore(url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: "STORE_URL", message: expect.stringContaining(`the ${what} has a "%"`) });
      expect((error as Error).message).not.toContain("S3CRET");
    }
  });
});

describe("a store path that is a folder", () => {
  it("is a config problem that says what to write instead", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "data"));
    for (const store of [`sqlite:${dir}/data`, "sqlite:./data", "sqlite:./fresh/"]) {
      expect(() => parseConfig(`store: ${store}\njobs: {}`, join(dir, "jobclock.yaml"), {})).toThrow(
        expect.objectContaining({ problems: [expect.stringMatching(new RegExp(`^store: ${dir}/(data|fresh) is a folder; give a file path such as ${dir}/(data|fresh)/jobclock\\.db$`))] }),
      );
    }
  });

  it("is a clear store-open error (no EISDIR)", async () => {
    const dir = tempDir();
    const error = await openStore(`sqlite:${dir}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: "STORE_IS_FOLDER", message: `store: ${dir} is a folder; give a file path such as ${dir}/jobclock.db` });
  });
});
