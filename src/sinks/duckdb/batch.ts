/**
 * The batch path: small files read the same way (same data source, format
 * and CSV layout) loaded by ONE statement over all of them in ONE
 * transaction, with one ledger entry each. A batch that fails (a bad row,
 * an unreadable file) is rolled back and split, down to loading its files
 * one by one the single-file way, so a bad row is quarantined and an
 * unreadable file fails alone, in its own slot.
 */
import { rm, stat } from 'node:fs/promises';
import { BATCH_FILE_MAX_BYTES, BATCH_MAX_BYTES, BATCH_MAX_FILES } from '../../contract/limits';
import { mapConcurrently } from '../../util/concurrency';
import { firstLine } from '../../util/errors';
import { FileUnreadableError } from '../errors';
import type { IngestFileInput, IngestFileResult, IngestFilesOutcome } from '../destination';
import { chooseEncoding } from '../textEncoding';
import { formatReader, planRecords, type ReadPlan } from './formats';
import { alreadyLoaded, ledgerKey, loadedVersions, recordLoaded } from './ledger';
import { planFile, type LoadContext } from './loadContext';
import { gunzipTo, gzipReason, readHeadBytes } from './localFiles';
import { strictInsert } from './strictInsert';
import { ensureTables } from './tables';
import { siblingTempPath } from '../../util/stateLayout';

/** Files of a batch prepared at once (stat, gunzip, header line). */
const PREPARE_CONCURRENCY = 8;

/** A file that may load in a batch: small, non-empty, decompressed and planned. */
interface Candidate {
  n: number;
  plainPath: string;
  plainSize: number;
  plan: ReadPlan;
  /** Its records counted apart from DuckDB (the load invariant), once, whichever batch it ends in. */
  seen?: Promise<number>;
}

/** The records of each file of `chunk`, counted apart from DuckDB's reader (memoized on the candidate). */
function recordsSeen(chunk: Candidate[]): Promise<number[]> {
  const counting = mapConcurrently(chunk, PREPARE_CONCURRENCY, (c) => {
    c.seen ??= planRecords(c.plan, c.plainPath, { gzip: false, size: c.plainSize });
    return c.seen;
  });
  counting.catch(() => undefined); // awaited by checkAndRecord; a batch that fails first never asks
  return counting;
}

/** What preparing a file for a batch found. */
type Prepared =
  | { kind: 'single' }
  | { kind: 'failed'; error: FileUnreadableError }
  | { kind: 'file'; plainPath: string; plainSize: number; plan?: ReadPlan };

/** Loads one file the single-file way (with the destination's retries). */
export type LoadOne = (input: IngestFileInput) => Promise<IngestFileResult>;

/**
 * Loads several downloaded object versions and returns one outcome per
 * input, in order. Versions already in the ledger (or repeated in `inputs`)
 * come back with `alreadyLoaded: true`. Errors that are not about a file
 * are thrown; files committed before stay in the ledger.
 */
export async function loadFiles(
  ctx: LoadContext,
  inputs: IngestFileInput[],
  one: LoadOne,
): Promise<IngestFilesOutcome[]> {
  const prepared = new Set<string>();
  for (const input of inputs) {
    if (prepared.has(input.dataSource.name)) continue;
    await ensureTables(ctx.conn, input.dataSource);
    prepared.add(input.dataSource.name);
  }
  const batch = new BatchLoad(ctx, inputs, one);
  const { toLoad, repeats } = await batch.sortOut();
  try {
    await batch.load(toLoad);
  } finally {
    await batch.cleanUp();
  }
  return batch.outcomes(repeats);
}

class BatchLoad {
  private readonly out: (IngestFilesOutcome | undefined)[];
  private readonly temps: string[] = [];

  constructor(
    private readonly ctx: LoadContext,
    private readonly inputs: IngestFileInput[],
    private readonly loadOne: LoadOne,
  ) {
    this.out = new Array<IngestFilesOutcome | undefined>(inputs.length).fill(undefined);
  }

  /**
   * Sets the outcome of versions already loaded; returns the inputs to load
   * and the repeats within this call (loaded once, by the first).
   */
  async sortOut(): Promise<{ toLoad: number[]; repeats: [number, number][] }> {
    const firstOf = new Map<string, number>();
    const repeats: [number, number][] = [];
    const toLoad: number[] = [];
    const earlier = await loadedVersions(
      this.ctx.conn,
      this.inputs.filter((i) => i.recordInLedger !== false),
    );
    for (const [n, input] of this.inputs.entries()) {
      if (input.recordInLedger === false) {
        toLoad.push(n);
        continue;
      }
      const k = ledgerKey(input);
      const e = earlier.get(k);
      const first = firstOf.get(k);
      if (e) this.out[n] = { ok: true, result: alreadyLoaded(e) };
      else if (first !== undefined) repeats.push([n, first]);
      else {
        firstOf.set(k, n);
        toLoad.push(n);
      }
    }
    return { toLoad, repeats };
  }

  /** Every outcome, in order, a repeat getting its first's (as already loaded). */
  outcomes(repeats: [number, number][]): IngestFilesOutcome[] {
    for (const [n, first] of repeats) {
      const o = this.out[first]!;
      this.out[n] = o.ok ? { ok: true, result: { ...o.result, alreadyLoaded: true } } : o;
    }
    return this.out.map((o, n) => {
      if (!o) throw new Error(`internal: no outcome for input ${n}`);
      return o;
    });
  }

  async cleanUp(): Promise<void> {
    for (const t of this.temps) await rm(t, { force: true }).catch(() => undefined);
  }

  /** Loads input n the single-file way: its result, or why its file cannot be read. */
  private async one(n: number): Promise<void> {
    try {
      this.out[n] = { ok: true, result: await this.loadOne(this.inputs[n]!) };
    } catch (e) {
      if (e instanceof FileUnreadableError) this.out[n] = { ok: false, error: e };
      else throw e;
    }
  }

  /**
   * Prepares the files, groups those read the same way, and loads each
   * group in chunks. File work comes first, several files at once (stat,
   * gunzip, CSV header): done one after the other, each step waits its turn
   * in libuv's thread pool behind the downloads of the next batches. Parquet
   * plans ask DuckDB on this connection, so they are made afterwards, in order.
   */
  async load(toLoad: number[]): Promise<void> {
    const preparedFiles = await mapConcurrently(toLoad, PREPARE_CONCURRENCY, (n) => this.prepare(n, toLoad.length));
    const groups = new Map<string, Candidate[]>();
    for (const [k, n] of toLoad.entries()) {
      const c = await this.candidate(n, preparedFiles[k]!);
      if (!c) continue;
      const groupKey = JSON.stringify([
        this.inputs[n]!.dataSource.name,
        c.plan.batchSource!(['?']),
        c.plan.conversions,
      ]);
      const group = groups.get(groupKey) ?? [];
      group.push(c);
      groups.set(groupKey, group);
    }
    for (const group of groups.values()) await this.loadGroup(group);
  }

  /** Stat, gunzip and the text checks of a file: whether it may be batched. */
  private async prepare(n: number, loading: number): Promise<Prepared> {
    const input = this.inputs[n]!;
    let size: number;
    try {
      const st = await stat(input.localPath);
      size = st.isFile() ? st.size : -1;
    } catch {
      size = -1;
    }
    // Empty, missing or large: the single-file path (and its errors).
    if (size <= 0 || size > BATCH_FILE_MAX_BYTES || loading === 1) return { kind: 'single' };
    let plainPath = input.localPath;
    if (input.compression === 'gzip') {
      plainPath = siblingTempPath(input.localPath, 'plain');
      this.temps.push(plainPath);
      try {
        await gunzipTo(input.localPath, plainPath);
      } catch (e) {
        return { kind: 'failed', error: new FileUnreadableError(input.bucket, input.key, gzipReason(e)) };
      }
    }
    const plainSize = plainPath === input.localPath ? size : (await stat(plainPath)).size;
    if (plainSize === 0) return { kind: 'single' };
    if (!formatReader(input.format).text) return { kind: 'file', plainPath, plainSize };
    // Text that is not UTF-8 is decoded by the single-file path.
    const head = await readHeadBytes(plainPath, false);
    if (chooseEncoding(head.bytes, head.complete, input.dataSource.import?.encoding).kind !== 'utf-8')
      return { kind: 'single' };
    const plan = await planFile(this.ctx, input, plainPath);
    return plan instanceof FileUnreadableError
      ? { kind: 'failed', error: plan }
      : { kind: 'file', plainPath, plainSize, plan };
  }

  /** The batch candidate of a prepared file; undefined once the file got its outcome another way. */
  private async candidate(n: number, p: Prepared): Promise<Candidate | undefined> {
    if (p.kind === 'single') {
      await this.one(n);
      return undefined;
    }
    if (p.kind === 'failed') {
      this.out[n] = { ok: false, error: p.error };
      return undefined;
    }
    const plan = p.plan ?? (await planFile(this.ctx, this.inputs[n]!, p.plainPath));
    if (plan instanceof FileUnreadableError) {
      this.out[n] = { ok: false, error: plan };
      return undefined;
    }
    if (!plan.batchSource) {
      await this.one(n);
      return undefined;
    }
    return { n, plainPath: p.plainPath, plainSize: p.plainSize, plan };
  }

  /** Chunks bounded in bytes and files; a path twice in one statement would merge its counts. */
  private async loadGroup(group: Candidate[]): Promise<void> {
    let chunk: Candidate[] = [];
    let bytes = 0;
    let paths = new Set<string>();
    for (const c of group) {
      if (
        chunk.length > 0 &&
        (bytes + c.plainSize > BATCH_MAX_BYTES || chunk.length >= BATCH_MAX_FILES || paths.has(c.plainPath))
      ) {
        await this.loadOrSplit(chunk);
        chunk = [];
        bytes = 0;
        paths = new Set();
      }
      chunk.push(c);
      bytes += c.plainSize;
      paths.add(c.plainPath);
    }
    if (chunk.length > 0) await this.loadOrSplit(chunk);
  }

  /** A batch that fails is split in halves, so one bad file among many costs ~2·log2(n) batches. */
  private async loadOrSplit(part: Candidate[]): Promise<void> {
    if (part.length === 1) await this.one(part[0]!.n);
    else if (!(await this.loadBatch(part))) {
      if (part.length <= 3) for (const c of part) await this.one(c.n);
      else {
        const half = Math.ceil(part.length / 2);
        await this.loadOrSplit(part.slice(0, half));
        await this.loadOrSplit(part.slice(half));
      }
    }
  }

  /**
   * Loads a batch of files read the same way in one transaction: one strict
   * statement inserts the converted rows of every file, one counts the rows
   * of each file (a cheaper second read than staging the converted rows to
   * count them), one writes the ledger. Returns false (after rolling back)
   * when any row or file fails; the caller then splits the batch.
   */
  private async loadBatch(chunk: Candidate[]): Promise<boolean> {
    const conn = this.ctx.conn;
    const ds = this.inputs[chunk[0]!.n]!.dataSource;
    const loadedAt = new Date().toISOString();
    const source = chunk[0]!.plan.batchSource!(chunk.map((c) => c.plainPath));
    // Counted on this thread while DuckDB inserts on its own: the count used
    // to start after the INSERT and added ~7 ms per small file.
    const seen = recordsSeen(chunk);
    let inserted: number;
    await conn.run('BEGIN TRANSACTION');
    try {
      // Straight into the table: its NOT NULLs check the non-Nullable columns.
      ({ rowsChanged: inserted } = await conn.run(strictInsert(ds, chunk[0]!.plan.conversions, source)));
    } catch (e) {
      await conn.run('ROLLBACK').catch(() => undefined);
      if (/^(Parser|Internal) Error/i.test(firstLine(e))) throw e;
      return false;
    }
    let counts: Map<string, number> | undefined;
    try {
      counts = await this.checkAndRecord(chunk, source, inserted, loadedAt, await seen);
      if (!counts) {
        await conn.run('ROLLBACK');
        return false;
      }
      await conn.run('COMMIT');
    } catch (e) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
    this.loaded(chunk, counts, loadedAt);
    return true;
  }

  /**
   * The load invariant of a batch, file by file, then its ledger entries;
   * the rows of each file, or undefined when a file's records were not all
   * read by DuckDB (it then goes the single-file way).
   */
  private async checkAndRecord(
    chunk: Candidate[],
    source: string,
    inserted: number,
    loadedAt: string,
    seen: number[],
  ): Promise<Map<string, number> | undefined> {
    const conn = this.ctx.conn;
    const r = await conn.runAndReadAll(`SELECT s3c_file, count(*)::BIGINT AS n FROM (${source}) GROUP BY s3c_file`);
    const counts = new Map(r.getRowObjectsJS().map((row) => [String(row.s3c_file), Number(row.n)]));
    const counted = [...counts.values()].reduce((a, b) => a + b, 0);
    if (counted !== inserted)
      throw new Error(`internal: batch inserted ${inserted} rows but its files hold ${counted}`);
    if (chunk.some((c, k) => seen[k] !== (counts.get(c.plainPath) ?? 0))) return undefined;
    const recorded = chunk.filter((c) => this.inputs[c.n]!.recordInLedger !== false);
    if (recorded.length > 0) {
      const entries = recorded.map((c) => ({
        input: this.inputs[c.n]!,
        rows: counts.get(c.plainPath) ?? 0,
        quarantined: 0,
      }));
      await recordLoaded(this.ctx, entries, loadedAt);
    }
    return counts;
  }

  /** Records the outcomes of a committed batch. */
  private loaded(chunk: Candidate[], counts: Map<string, number>, loadedAt: string): void {
    this.ctx.diagnostics.lastLoadPath = 'fast';
    this.ctx.diagnostics.batchStats.batches++;
    this.ctx.diagnostics.batchStats.files += chunk.length;
    for (const c of chunk) {
      const jobId = this.inputs[c.n]!.jobId;
      this.out[c.n] = {
        ok: true,
        result: { rows: counts.get(c.plainPath) ?? 0, quarantined: 0, alreadyLoaded: false, jobId, loadedAt },
      };
    }
  }
}
