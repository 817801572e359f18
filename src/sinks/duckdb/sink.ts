/**
 * The DuckDB file destination: one instance per database file; every
 * operation on it is serialised (one writer, one connection), so concurrent
 * `ingestFile` calls within one process never double-load.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { normalizeEtag, versionKey } from '../../contract';
import { firstLine } from '../../util/errors';
import type { DataSourceDef, TtlRule } from '../../datafiles/types';
import { claimScratchDir, SCRATCH_PREFIX } from '../scratch';
import type { Destination, IngestFileInput, IngestFileResult, IngestFilesOutcome, LedgerEntry } from '../destination';
import { loadFiles } from './batch';
import { connectSink, type ConnectionSetup } from './connection';
import { PlannerCache } from './formats';
import { findLoaded, ledgerEntries, loadedTuples } from './ledger';
import type { LoadContext, LoadDiagnostics } from './loadContext';
import { loadFileRetryingOnOneThread } from './singleFile';
import { ensureTables, expireRows, queryRows, replaceSampleTables, rowCount } from './tables';

/** An `ingestFiles` call waiting for its turn. */
interface WaitingBatch {
  inputs: IngestFileInput[];
  resolve: (out: IngestFilesOutcome[]) => void;
  reject: (err: unknown) => void;
}

export class DuckDbSink implements Destination, LoadDiagnostics {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly planners = new PlannerCache();
  lastLoadPath: LoadDiagnostics['lastLoadPath'];
  readonly batchStats = { batches: 0, files: 0, calls: 0, turns: 0 };
  /** Times DuckDB invalidated the database and it was opened again (see reopen). */
  reopened = 0;
  /** `ingestFiles` calls waiting for their turn (see there). */
  private waitingBatches: WaitingBatch[] = [];

  private constructor(
    /** Path of the database file. */
    readonly path: string,
    private instance: DuckDBInstance,
    private conn: DuckDBConnection,
    /** The directories SQL may reach (scratchDir first) and the memory limit: what a reopened database gets again. */
    private readonly setup: ConnectionSetup,
    /**
     * The one directory of the machine (with `fileDirectories`) whose files
     * SQL on this sink may read or write: put the files to load here (the
     * activities download into folders under it). Removed by `close()`.
     */
    readonly scratchDir: string,
  ) {}

  /**
   * Opens (creating if needed) the database file at `path` and the ledger
   * table, then shuts DuckDB's file access down to `scratchDir` and
   * `options.fileDirectories` (see connection.ts).
   */
  static async open(
    path: string,
    options: { memoryLimit?: string; fileDirectories?: string[] } & Pick<
      ConnectionSetup,
      'attachTables' | 'claimVersions'
    > = {},
  ): Promise<DuckDbSink> {
    if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
    const scratchDir = await mkdtemp(join(tmpdir(), SCRATCH_PREFIX));
    // Named as ours, so that a worker start after a crash can tell it from a live worker's (sinks/scratch.ts).
    claimScratchDir(scratchDir);
    const instance = await DuckDBInstance.create(path).catch(async (e: unknown) => {
      await rm(scratchDir, { recursive: true, force: true });
      throw e;
    });
    const { memoryLimit, attachTables, claimVersions } = options;
    const setup: ConnectionSetup = {
      directories: [scratchDir, ...(options.fileDirectories ?? [])],
      memoryLimit,
      attachTables,
      claimVersions,
    };
    try {
      const conn = await connectSink(instance, setup);
      return new DuckDbSink(path, instance, conn, setup, scratchDir);
    } catch (e) {
      instance.closeSync();
      await rm(scratchDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** What the load path works with: this sink's connection, planners and diagnostics. */
  private get ctx(): LoadContext {
    return { conn: this.conn, planners: this.planners, diagnostics: this, claimVersions: this.setup.claimVersions };
  }

  /**
   * Opens the database again after DuckDB invalidated it (an INTERNAL error
   * can, and then every statement says "FATAL Error … database has been
   * invalidated"): every later statement of this sink
   * would fail until the worker restarted. Nothing of the failed transaction
   * was committed; the activity that hit it is retried on the new database.
   */
  private async alive(): Promise<boolean> {
    try {
      await this.conn.run('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  private async reopen(): Promise<void> {
    try {
      this.conn.closeSync();
      this.instance.closeSync();
    } catch {
      // An invalidated database may refuse to close cleanly: it is dropped either way.
    }
    this.instance = await DuckDBInstance.create(this.path);
    this.conn = await connectSink(this.instance, this.setup);
    this.reopened++;
  }

  /** Runs `fn` after every earlier operation of this sink has finished. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      if (this.closed) throw new Error(`DuckDB sink ${this.path} is closed`);
      try {
        return await fn();
      } catch (e) {
        if (
          /^(INTERNAL|FATAL) Error|database has been invalidated/i.test(firstLine(e)) &&
          this.path !== ':memory:' &&
          !(await this.alive())
        )
          await this.reopen();
        throw e;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Creates, if missing, the data source's typed table `<name>`, its quarantine
   * table `<name>_quarantine` and the shared ledger `s3c_ledger`. Idempotent.
   * Throws when a DEFAULT expression cannot be translated to DuckDB.
   */
  ensureTables(ds: DataSourceDef): Promise<void> {
    return this.exclusive(() => ensureTables(this.conn, ds));
  }

  /**
   * Replaces the sample tables of a data source (`<name>__sample` and its
   * quarantine) with empty ones, in one transaction: each sample import shows
   * only its own rows. Takes the production definition, so no caller can
   * drop a production table through it.
   */
  replaceSampleTables(ds: DataSourceDef): Promise<void> {
    return this.exclusive(() => replaceSampleTables(this.conn, ds));
  }

  /**
   * Loads one object version (see index.ts). Returns the earlier
   * result with `alreadyLoaded: true` when the ledger already has
   * (data source, bucket, key, ETag). Throws `FileUnreadableError` when the file
   * cannot be read at all; nothing is written then.
   */
  ingestFile(input: IngestFileInput): Promise<IngestFileResult> {
    return this.exclusive(() => loadFileRetryingOnOneThread(this.ctx, input));
  }

  /**
   * Loads several downloaded object versions, with one ledger entry each, and
   * returns one outcome per input, in order (see batch.ts).
   *
   * Calls that wait for the sink at the same time are loaded together, as one
   * call: several activities' batches that queue behind a load cost one
   * statement, one ledger write and one commit instead of one each. Errors
   * that are not about a file (e.g. the disk is full) reject every call of the
   * group; files committed before it stay in the ledger, so a retry of a call
   * is harmless.
   */
  ingestFiles(inputs: IngestFileInput[]): Promise<IngestFilesOutcome[]> {
    return new Promise((resolve, reject) => {
      this.waitingBatches.push({ inputs, resolve, reject });
      // The first waiting call books a turn; the turn takes every call waiting by then.
      if (this.waitingBatches.length > 1) return;
      void this.exclusive(() => this.loadWaitingBatches()).catch((e: unknown) => {
        // The sink was closed before the turn came.
        for (const c of this.waitingBatches.splice(0)) c.reject(e);
      });
    });
  }

  /** One turn: every `ingestFiles` call waiting by now, loaded as one. */
  private async loadWaitingBatches(): Promise<void> {
    const calls = this.waitingBatches.splice(0);
    this.batchStats.calls += calls.length;
    this.batchStats.turns++;
    try {
      const ctx = this.ctx;
      const out = await loadFiles(
        ctx,
        calls.flatMap((c) => c.inputs),
        (input) => loadFileRetryingOnOneThread(ctx, input),
      );
      let at = 0;
      for (const c of calls) {
        c.resolve(out.slice(at, at + c.inputs.length));
        at += c.inputs.length;
      }
    } catch (e) {
      for (const c of calls) c.reject(e);
    }
  }

  /**
   * The ledger entries of several versions of one bucket in one query, keyed
   * by {@link versionKey} (ETag without quotes). Listings check a page at once.
   */
  findLoadedMany(
    dataSource: string,
    bucket: string,
    versions: { key: string; etag: string }[],
  ): Promise<Map<string, LedgerEntry>> {
    return this.exclusive(async () => {
      if (versions.length === 0) return new Map<string, LedgerEntry>();
      const found = await loadedTuples(
        this.conn,
        versions.map((v) => [dataSource, bucket, v.key, normalizeEtag(v.etag)]),
      );
      return new Map([...found.values()].map((e) => [versionKey(e), e]));
    });
  }

  /** The ledger entry of a loaded version (ETag compared without quotes), if any. */
  findLoaded(dataSource: string, key: string, etag: string): Promise<LedgerEntry | undefined> {
    return this.exclusive(() => findLoaded(this.conn, dataSource, undefined, key, etag));
  }

  /** Every ledger entry of a data source, oldest first. */
  ledger(dataSource: string): Promise<LedgerEntry[]> {
    return this.exclusive(() => ledgerEntries(this.conn, dataSource));
  }

  /**
   * Runs a read-only SQL query and returns its rows as plain JS values
   * (BIGINT as number when safe). For inspection: the CLI, the demo, tests.
   */
  query(sql: string): Promise<Record<string, unknown>[]> {
    return this.exclusive(() => queryRows(this.conn, sql));
  }

  /** Number of rows of a table (e.g. `events` or `events_quarantine`). */
  rowCount(table: string): Promise<number> {
    return this.exclusive(() => rowCount(this.conn, table));
  }

  /**
   * Deletes the rows of `table` whose ENGINE_TTL has passed at `now` and
   * returns how many; 0 when the table does not exist yet (no sync loaded it).
   */
  expireRows(table: string, rule: TtlRule, now: Date): Promise<number> {
    return this.exclusive(() => expireRows(this.conn, table, rule, now));
  }

  /** Runs `fn` on this sink's connection in its turn: a destination built on this one adds statements of its own (the lake's partitioning). */
  withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.exclusive(() => fn(this.conn));
  }

  /** Waits for running operations, then closes the connection and the database. */
  close(): Promise<void> {
    if (this.closed) return this.queue.then(() => undefined);
    return this.exclusive(async () => {
      this.closed = true;
      try {
        this.conn.closeSync();
      } finally {
        this.instance.closeSync();
        await rm(this.scratchDir, { recursive: true, force: true });
      }
    });
  }
}
