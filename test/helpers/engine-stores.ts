import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, describe } from "vitest";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/types.js";
import { FakeClock, settle } from "../../src/testing/fake-clock.js";
import { PG_BASE, postgresUp } from "./postgres.js";
import { tempDir } from "./spec.js";

/** One empty database for one engine test, and what the test may do to it from the side. */
export interface TestDatabase {
  /** The store the engine uses; its calls are counted so the clock can wait for them. */
  store: Store;
  /** Another connection to the same database: what the CLI or another instance would open. */
  openOther(): Promise<Store>;
  /** Rows in one of the store's tables, read behind the store's back. */
  count(table: "triggers" | "control_events"): Promise<number>;
  close(): Promise<void>;
}

export interface EngineStoreKind {
  name: "sqlite" | "postgres";
  /** A fresh database (a new file, or a new PostgreSQL schema dropped after the describe). */
  open(): Promise<TestDatabase>;
}

/**
 * Store calls the engine has sent and that have not answered yet. A PostgreSQL round trip
 * takes longer than the few event-loop turns FakeClock waits between timers, so the harness's
 * clock also waits for these before it fires the next timer (see SettlingClock).
 */
export class InFlight {
  /** Each call in flight, and what it is (for the message when one never answers). */
  private readonly calls = new Map<Promise<void>, string>();

  /**
   * The store with every method call counted while it runs, and the unsubscribe function its
   * `subscribe` returns too (PostgreSQL's UNLISTEN is a round trip a stop waits for).
   * Property writes reach the store.
   */
  track(store: Store): Store {
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        const method = this.counted(String(prop), (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args));
        if (prop !== "subscribe") return method;
        return async (...args: unknown[]) => this.counted("unsubscribe", await (method(...args) as Promise<() => Promise<void>>));
      },
    });
  }

  private counted<F extends (...args: never[]) => unknown>(name: string, fn: F): F {
    return ((...args: Parameters<F>) => {
      const result = fn(...args);
      if (result instanceof Promise) {
        const settled: Promise<void> = result.then(() => {}, () => {}).finally(() => this.calls.delete(settled));
        this.calls.set(settled, name);
      }
      return result;
    }) as F;
  }

  /**
   * Resolves once nothing is in flight after the event loop has had a few turns. A call that
   * does not answer within `ms` (real time) fails the test by name rather than hang it.
   */
  async idle(ms = 10_000): Promise<void> {
    for (;;) {
      await settle();
      if (this.calls.size === 0) return;
      const names = [...this.calls.values()].join(", ");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`store calls unanswered after ${ms}ms: ${names}`)), ms);
      });
      await Promise.race([Promise.all(this.calls.keys()), stuck]).finally(() => clearTimeout(timer));
    }
  }
}

/** A FakeClock that, between timers, also waits for the store calls the work it started made. */
export class SettlingClock extends FakeClock {
  constructor(start: number, private readonly inFlight: InFlight) {
    super(start);
  }

  protected override settle(): Promise<void> {
    return this.inFlight.idle();
  }
}

const sqlite: EngineStoreKind = {
  name: "sqlite",
  async open() {
    const path = join(tempDir(), "jobclock.db");
    const store = SqliteStore.open(path);
    return {
      store,
      openOther: async () => SqliteStore.open(path),
      async count(table) {
        const db = new Database(path, { readonly: true });
        try {
          return Number(db.prepare(`SELECT count(*) FROM ${table}`).pluck().get());
        } finally {
          db.close();
        }
      },
      close: () => store.close(),
    };
  },
};

/**
 * PostgreSQL, one schema per engine test. The engine measures its clock against the database's
 * at each heartbeat and corrects it; the tests' clock is fake (months away from the server's),
 * so here the heartbeat reports no reading, as SQLite's does. That correction has its own test
 * on real time (engine-clock.test.ts).
 */
function postgresKind(schemas: string[]): EngineStoreKind {
  return {
    name: "postgres",
    async open() {
      const schema = `jc_engine_${randomBytes(6).toString("hex")}`;
      schemas.push(schema);
      const url = `${PG_BASE}?schema=${schema}`;
      const real = await PostgresStore.open(url);
      return {
        store: withoutClockReading(real),
        openOther: async () => withoutClockReading(await PostgresStore.open(url)),
        async count(table) {
          const sql = postgres(PG_BASE, { onnotice: () => {}, max: 1 });
          try {
            const [row] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${schema}".${table}`);
            return Number(row!.n);
          } finally {
            await sql.end();
          }
        },
        close: () => real.close(),
      };
    },
  };
}

/** The store with its heartbeat's clock reading dropped (see postgresKind). */
function withoutClockReading(store: Store): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "heartbeat") return (...args: Parameters<Store["heartbeat"]>) => target.heartbeat(...args).then(() => null);
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const pgUp = await postgresUp();

/**
 * Runs `body` once per store: SQLite always, PostgreSQL when it answers (in CI it must; off CI
 * postgresUp() has said why it is skipped). Each describe's PostgreSQL schemas are dropped after it.
 */
export function describeOnEachStore(title: string, body: (kind: EngineStoreKind) => void): void {
  describe(`${title} [sqlite]`, () => body(sqlite));
  describe.skipIf(!pgUp)(`${title} [postgres]`, () => {
    const schemas: string[] = [];
    afterAll(async () => {
      if (schemas.length === 0) return;
      const sql = postgres(PG_BASE, { onnotice: () => {}, max: 1 });
      for (const s of schemas) await sql.unsafe(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      await sql.end();
    });
    body(postgresKind(schemas));
  });
}

/** SQLite: the harness's default, for suites that do not run on each store. */
export const onSqlite: EngineStoreKind = sqlite;
