/**
 * The DuckLake destination (issue 21): the tables live in a DuckLake
 * (catalog in PostgreSQL, Parquet files in S3), so any number of workers on
 * any number of machines load into them at once, and any DuckDB reads them.
 *
 * It is the DuckDB destination's load path on an in-memory DuckDB whose
 * default catalog is the attached lake (see ../duckdb/connection.ts): the
 * same formats, strict and tolerant inserts and load invariant, the rows,
 * quarantine rows and ledger entry of a version in one lake transaction.
 * Two things are added for many writers: the ledger transaction claims the
 * version's token (tokens.ts), and an operation whose commit the lake
 * refuses is run again (conflicts.ts).
 */
import type { DataSourceDef, TtlRule } from '../../datafiles/types';
import type { Destination, IngestFileInput, IngestFileResult, IngestFilesOutcome, LedgerEntry } from '../destination';
import { firstLine } from '../../util/errors';
import { quoteIdent } from '../duckdbTypes';
import { DuckDbSink } from '../duckdb/sink';
import { attachLake, type LakeAccess } from './attach';
import { retryConflicts, type ConflictStats } from './conflicts';
import { lakePartitioning } from './partitioning';
import { claimVersions, ensureLakeTables } from './tokens';

export class DuckLakeSink implements Destination {
  /** Commit conflicts met and retried (tests, diagnostics). */
  readonly stats: ConflictStats = { conflicts: 0 };
  /** What could not be done as the datafile asks (also written to stderr), e.g. a partition key DuckLake cannot take. */
  readonly warnings: string[] = [];
  /** Tables whose ENGINE_PARTITION_KEY this process has applied (or warned about), with the key. */
  private readonly partitioned = new Set<string>();

  private constructor(
    /** The load path, on the lake. */
    readonly inner: DuckDbSink,
  ) {}

  /**
   * Opens an in-memory DuckDB on the lake: the extensions loaded by path,
   * the lake attached with the secrets of `access`, the ledger and token
   * tables created if missing. File access is then shut down to the scratch
   * folder, the lake's data path and `options.fileDirectories`.
   */
  static async open(
    access: LakeAccess,
    options: { memoryLimit?: string; fileDirectories?: string[] } = {},
  ): Promise<DuckLakeSink> {
    const inner = await DuckDbSink.open(':memory:', {
      memoryLimit: options.memoryLimit,
      fileDirectories: [access.dataPath, ...(options.fileDirectories ?? [])],
      attachTables: async (conn) => {
        await attachLake(conn, access);
        await retryConflicts(() => ensureLakeTables(conn));
      },
      claimVersions,
    });
    return new DuckLakeSink(inner);
  }

  get scratchDir(): string {
    return this.inner.scratchDir;
  }

  private retried<T>(fn: () => Promise<T>): Promise<T> {
    return retryConflicts(fn, this.stats);
  }

  /** Creates the tables if missing, and partitions the table by its ENGINE_PARTITION_KEY (see partitioning.ts). */
  async ensureTables(ds: DataSourceDef): Promise<void> {
    await this.retried(() => this.inner.ensureTables(ds));
    await this.partition(ds);
  }

  /**
   * `ALTER TABLE … SET PARTITIONED BY` once per table and key in this process
   * (each is a catalog commit; files written before keep their layout). A
   * key DuckLake cannot take, or an ALTER it refuses, is a warning: the rows
   * load the same, unpartitioned.
   */
  private async partition(ds: DataSourceDef): Promise<void> {
    const done = JSON.stringify([ds.name, ds.partitionKey]);
    if (this.partitioned.has(done)) return;
    const p = lakePartitioning(ds);
    try {
      if (p && 'unsupported' in p)
        this.warn(
          `${ds.name}: ENGINE_PARTITION_KEY ${p.unsupported} is not a DuckLake partitioning (columns and year/month/day/hour of a column): the table is not partitioned`,
        );
      if (p && 'by' in p) {
        const sql = `ALTER TABLE ${quoteIdent(ds.name)} SET PARTITIONED BY (${p.by})`;
        await this.retried(() => this.inner.withConnection((conn) => conn.run(sql)));
      }
    } catch (e) {
      this.warn(
        `${ds.name}: ENGINE_PARTITION_KEY ${ds.partitionKey}: DuckLake refused the partitioning (${firstLine(e)}): the table is not partitioned`,
      );
    }
    this.partitioned.add(done);
  }

  private warn(message: string): void {
    this.warnings.push(message);
    process.stderr.write(`warning: ${message}
`);
  }

  replaceSampleTables(ds: DataSourceDef): Promise<void> {
    return this.retried(() => this.inner.replaceSampleTables(ds));
  }

  /** Loads one version; a conflict retried finds a rival's ledger entry and returns its result (`alreadyLoaded`). */
  ingestFile(input: IngestFileInput): Promise<IngestFileResult> {
    return this.retried(() => this.inner.ingestFile(input));
  }

  /**
   * Loads several versions. A batch whose commit conflicts fails the whole
   * call, which is run again: versions committed by the first try then come
   * back `alreadyLoaded`, as after an activity's retry.
   */
  ingestFiles(inputs: IngestFileInput[]): Promise<IngestFilesOutcome[]> {
    return this.retried(() => this.inner.ingestFiles(inputs));
  }

  findLoaded(dataSource: string, key: string, etag: string): Promise<LedgerEntry | undefined> {
    return this.inner.findLoaded(dataSource, key, etag);
  }

  findLoadedMany(
    dataSource: string,
    bucket: string,
    versions: { key: string; etag: string }[],
  ): Promise<Map<string, LedgerEntry>> {
    return this.inner.findLoadedMany(dataSource, bucket, versions);
  }

  ledger(dataSource: string): Promise<LedgerEntry[]> {
    return this.inner.ledger(dataSource);
  }

  /** ENGINE_TTL: a DELETE on the lake (it conflicts with another worker's delete from the same table: retried). */
  expireRows(table: string, rule: TtlRule, now: Date): Promise<number> {
    return this.retried(() => this.inner.expireRows(table, rule, now));
  }

  query(sql: string): Promise<Record<string, unknown>[]> {
    return this.inner.query(sql);
  }

  rowCount(table: string): Promise<number> {
    return this.inner.rowCount(table);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
