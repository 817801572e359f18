/**
 * The single-file path: one object version in ONE transaction with its
 * quarantine rows and its ledger entry (see index.ts for the strategy).
 * The fast path reads the file once with the strict insert; a bad row rolls
 * it back and the tolerant insert runs. The records seen in the file must
 * equal rows loaded + rows quarantined before anything commits.
 */
import { rm, stat } from 'node:fs/promises';
import { firstLine } from '../../util/errors';
import { normalizeEtag } from '../../contract';
import {
  feedGrowingFile,
  feedGzipThroughFifo,
  GzipFeedBroken,
  verifyGzip,
  type GrowingFileFeed,
  type GzipFeed,
  type GzipVerdict,
} from '../gzipCheck';
import type { CountFormat } from '../recordCount';
import { chooseEncoding, decodeToUtf8 } from '../textEncoding';
import {
  fileFailure,
  FileUnreadableError,
  OutOfMemoryError,
  RecordCountMismatchError,
  type FileFailure,
} from '../errors';
import type { IngestFileInput, IngestFileResult } from '../destination';
import { countFormatOf, formatReader, planRecords, type FormatReader, type ReadPlan } from './formats';
import { gunzipTo, gzipReason, readHeadBytes } from './localFiles';
import { alreadyLoaded, findLoaded, recordLoaded } from './ledger';
import { planRead, type LoadContext } from './loadContext';
import { classify, isPlanningBug } from './readErrors';
import { strictInsert } from './strictInsert';
import { ensureTables } from './tables';
import { tolerantInsert } from './tolerantInsert';
import { siblingTempPath } from '../../util/stateLayout';
import { arrivedSize, streamsWhileDownloading } from './whileDownloading';

/**
 * loadFile, and once more on one thread when DuckDB ran out of memory:
 * each thread of an INSERT holds a block per column, so a wide file (a
 * 785-column CSV) needs twice the memory on two threads.
 */
export async function loadFileRetryingOnOneThread(ctx: LoadContext, input: IngestFileInput): Promise<IngestFileResult> {
  try {
    return await loadFile(ctx, input);
  } catch (e) {
    if (!(e instanceof OutOfMemoryError)) throw e;
  }
  await ctx.conn.run('SET threads = 1');
  try {
    return await loadFile(ctx, input);
  } finally {
    await ctx.conn.run('RESET threads');
  }
}

/**
 * Loads one object version; the earlier result when the ledger has it.
 * Throws FileUnreadableError when the file cannot be read; nothing is
 * written then.
 */
export async function loadFile(ctx: LoadContext, input: IngestFileInput): Promise<IngestFileResult> {
  const ds = input.dataSource;
  await ensureTables(ctx.conn, ds);
  const etag = normalizeEtag(input.etag);
  const earlier =
    input.recordInLedger !== false ? await findLoaded(ctx.conn, ds.name, input.bucket, input.key, etag) : undefined;
  if (earlier) return alreadyLoaded(earlier);
  const fail = fileFailure(input);
  const load = new SingleFileLoad(ctx, input, fail);
  await load.arrived();
  try {
    return await load.run();
  } finally {
    await load.cleanUp();
  }
}

/** The size of the downloaded file, or why it cannot be loaded. */
async function downloadedSize(path: string, fail: FileFailure): Promise<number> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw fail(`the downloaded file ${path} is not a regular file`);
    return st.size;
  } catch (e) {
    if (e instanceof FileUnreadableError) throw e;
    throw fail(`the downloaded file ${path} was not found`);
  }
}

/** The state of one file's load: the file DuckDB reads, its gzip check, its plan, its temporary files. */
class SingleFileLoad {
  private readonly reader: FormatReader;
  private readonly loadedAt = new Date().toISOString();
  private readonly temps: string[] = [];
  /** The file DuckDB reads: the download, or a decoded or inflated copy. */
  private plainPath: string;
  private compression: 'gzip' | 'none';
  /** CSV and NDJSON gzip: read compressed, never inflated to disk (see index.ts). */
  private streamGzip = false;
  /** The named pipe a gzip CSV is fed through (see feedGzipThroughFifo). */
  private feed: GzipFeed | undefined;
  private gzipCheck: Promise<GzipVerdict> | undefined;
  /** What the gzip check counts as it inflates (the feed and our own check count; one given us may not). */
  private gzipCounts: CountFormat | undefined;
  private plainSize = 0;
  /** The size of the file (so far, while `downloading`). */
  private localSize = 0;
  /** The download still under way (see IngestFileInput.downloaded): its final size. */
  private downloading: Promise<number> | undefined;
  /** The named pipe a plain CSV is fed through while it downloads (see feedGrowingFile). */
  private growingFeed: GrowingFileFeed | undefined;
  /** The records of the file, counted apart from DuckDB (the load invariant). */
  private seen: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly ctx: LoadContext,
    private readonly input: IngestFileInput,
    private readonly fail: FileFailure,
  ) {
    this.reader = formatReader(input.format);
    this.plainPath = input.localPath;
    this.compression = input.compression;
  }

  /**
   * Waits for the downloaded file: all of it, or, for a file loaded while it
   * downloads, enough of its head to plan the read.
   */
  async arrived(): Promise<void> {
    const downloaded = this.input.downloaded;
    if (downloaded && streamsWhileDownloading(this.input)) {
      const { size, final } = await arrivedSize(this.input.localPath, downloaded);
      if (!final) {
        this.localSize = size;
        this.downloading = downloaded;
        return;
      }
    } else if (downloaded) await downloaded;
    this.localSize = await downloadedSize(this.input.localPath, this.fail);
  }

  /** Waits for the rest of a file loaded while it downloads (rejects when the download failed). */
  private async wholeFile(): Promise<void> {
    if (!this.downloading) return;
    this.localSize = await this.downloading;
    this.downloading = undefined;
  }

  async run(): Promise<IngestFileResult> {
    if (this.localSize > 0 && this.reader.text) await this.decodeText();
    await this.startGzip();
    this.plainSize = this.localSize === 0 ? 0 : (await stat(this.plainPath)).size;
    const plan = this.plainSize > 0 ? await this.feedWhileDownloading(await this.plan()) : undefined;
    if (plan) this.seen = this.recordsSeen(plan);
    this.seen.catch(() => undefined);
    const { rows, quarantined } = await this.commitRows(plan);
    return { rows, quarantined, alreadyLoaded: false, jobId: this.input.jobId, loadedAt: this.loadedAt };
  }

  async cleanUp(): Promise<void> {
    await this.feed?.stop();
    await this.growingFeed?.stop();
    for (const t of this.temps) await rm(t, { force: true }).catch(() => undefined);
  }

  private tempPath(suffix: string): string {
    const path = siblingTempPath(this.input.localPath, suffix);
    this.temps.push(path);
    return path;
  }

  /** Text that is not UTF-8 is decoded to a UTF-8 file first (see textEncoding). */
  private async decodeText(): Promise<void> {
    const gzip = this.compression === 'gzip';
    const { bytes, complete } = await readHeadBytes(this.input.localPath, gzip);
    const encoding = chooseEncoding(bytes, complete, this.input.dataSource.import?.encoding);
    if (encoding.kind === 'refuse') throw this.fail(encoding.reason);
    if (encoding.kind !== 'decode') return;
    await this.wholeFile();
    this.plainPath = this.tempPath('utf8');
    await decodeToUtf8(this.input.localPath, this.plainPath, encoding.encoding, gzip).catch((e: unknown) => {
      throw this.fail((e as { code?: string }).code?.startsWith('Z_') ? gzipReason(e) : firstLine(e));
    });
    this.compression = 'none';
  }

  /**
   * A gzip text file is read compressed, beside a check of the whole stream
   * (a CSV fed through a pipe is checked as it is fed); other formats are
   * inflated to a file first.
   */
  private async startGzip(): Promise<void> {
    if (this.localSize === 0 || this.compression !== 'gzip') return;
    if (!this.reader.text) {
      this.plainPath = this.tempPath('plain');
      await gunzipTo(this.input.localPath, this.plainPath).catch((e: unknown) => {
        throw this.fail(gzipReason(e));
      });
      return;
    }
    this.streamGzip = true;
    const counts = this.reader.gzipCounts;
    const given = this.input.gzipCheck;
    if (!given && this.reader.pipesGzip) this.feed = await feedGzipThroughFifo(this.input.localPath, { count: counts });
    this.gzipCheck = this.checked(given ?? this.feed?.result ?? verifyGzip(this.input.localPath, counts));
    this.gzipCounts = given ? this.input.gzipCheckCounts : counts;
  }

  /** The gzip check, its failure as this file's error (handled: awaited later, or never when something else fails first). */
  private checked(p: Promise<GzipVerdict>): Promise<GzipVerdict> {
    const c = p.catch((e: unknown) => {
      throw this.fail(gzipReason(e));
    });
    c.catch(() => undefined);
    return c;
  }

  /**
   * Ends the pipe before DuckDB reads the gzip file some other way. A bad
   * stream the feed found stays the verdict (true: known); a pipe broken
   * because its reader stopped early means the stream is checked again.
   */
  private async endFeed(): Promise<boolean> {
    if (!this.feed) return true;
    await this.feed.stop();
    const verdict = await this.feed.result.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(verdict instanceof GzipFeedBroken)) return true;
    this.gzipCheck = this.checked(verifyGzip(this.input.localPath, this.gzipCounts));
    return false;
  }

  private async plan(): Promise<ReadPlan> {
    try {
      const plan = await planRead(this.ctx, this.input.dataSource, this.input.format, this.plainPath, this.streamGzip);
      return this.feed && plan.pipeSource ? { ...plan, fastSource: plan.pipeSource(this.feed.path) } : plan;
    } catch (e) {
      // A stream that is not gzip at all fails the check: say that, not the planner's error.
      await this.endFeed();
      if (this.gzipCheck) await this.gzipCheck;
      throw this.classify(e);
    }
  }

  /**
   * A plain CSV still downloading: DuckDB reads it through a pipe fed as it
   * arrives, and its records are counted on the way. Anything else waits
   * for the whole file.
   */
  private async feedWhileDownloading(plan: ReadPlan): Promise<ReadPlan> {
    const downloading = this.downloading;
    if (!downloading) return plan;
    const count = countFormatOf(plan);
    const feed = plan.pipeSource && count ? await feedGrowingFile(this.plainPath, { count }) : undefined;
    if (!feed || !plan.pipeSource) {
      await this.wholeFile();
      return plan;
    }
    this.growingFeed = feed;
    downloading.then(feed.complete, () => feed.abandon('the download failed'));
    return { ...plan, fastSource: plan.pipeSource(feed.path) };
  }

  private classify(e: unknown): Error {
    return classify(e, this.fail, [this.plainPath, this.input.localPath], this.input.key);
  }

  /**
   * The data records of the file, counted apart from DuckDB (the load
   * invariant): Parquet's footer; CSV and NDJSON by a pass over every
   * byte, beside the load (the gzip check counts as it inflates).
   */
  private async recordsSeen(p: ReadPlan): Promise<number> {
    const counted = this.growingFeed
      ? await this.growingFeed.result
      : this.gzipCheck && this.gzipCounts === countFormatOf(p)
        ? await this.gzipCheck
        : undefined;
    return planRecords(p, this.plainPath, { gzip: this.streamGzip, size: this.plainSize, counted });
  }

  /** Loads the rows (none without a plan: an empty file) and the ledger entry in one transaction. */
  private async commitRows(plan: ReadPlan | undefined): Promise<{ rows: number; quarantined: number }> {
    const conn = this.ctx.conn;
    if (!plan) this.ctx.diagnostics.lastLoadPath = 'empty';
    await conn.run('BEGIN TRANSACTION');
    try {
      const loaded = plan ? await this.loadRows(plan) : { rows: 0, quarantined: 0 };
      // Nothing commits before the whole gzip stream is known good, nor before the whole download is in.
      if (this.gzipCheck) await this.gzipCheck;
      await this.wholeFile();
      if (this.input.recordInLedger !== false)
        await recordLoaded(this.ctx, [{ input: this.input, ...loaded }], this.loadedAt);
      await conn.run('COMMIT');
      return loaded;
    } catch (e) {
      await conn.run('ROLLBACK').catch(() => undefined);
      await conn.run('SET preserve_insertion_order = false').catch(() => undefined);
      throw e;
    }
  }

  /** The fast path; on a bad row (or a file-level problem), the tolerant one. */
  private async loadRows(plan: ReadPlan): Promise<{ rows: number; quarantined: number }> {
    try {
      this.ctx.diagnostics.lastLoadPath = 'fast';
      const rows = (await this.ctx.conn.run(strictInsert(this.input.dataSource, plan.conversions, plan.fastSource)))
        .rowsChanged;
      const expected = await this.seen;
      // DuckDB read other records than the count: the tolerant path decides (its CSV splitter defines records).
      if (rows !== expected) throw new Error(`s3c: the fast read gave ${rows} rows of ${expected} records`);
      return { rows, quarantined: 0 };
    } catch (fastError) {
      // A statement DuckDB cannot even plan is a bug here, not bad data.
      if (isPlanningBug(fastError)) throw fastError;
      this.ctx.diagnostics.lastLoadPath = 'tolerant';
      return this.loadTolerantly(plan, fastError);
    }
  }

  /** The tolerant path, started over in a new transaction (and again with longer lines when a line was too long). */
  private async loadTolerantly(plan: ReadPlan, fastError: unknown): Promise<{ rows: number; quarantined: number }> {
    const conn = this.ctx.conn;
    // The pipe is spent. A bad stream says so now; one cut short by DuckDB is checked again, beside the load.
    if (this.feed && (await this.endFeed())) await this.gzipCheck;
    // The tolerant path reads the whole file on disk, not the pipe.
    await this.growingFeed?.stop();
    await this.wholeFile();
    let bigLines = /Maximum line size/i.test(firstLine(fastError) + String(fastError));
    const tolerantPlan = plan.sortRecords ? await this.sortRecords(plan, plan.sortRecords) : plan;
    for (;;) {
      await conn.run('ROLLBACK');
      await conn.run('SET preserve_insertion_order = false');
      await conn.run('BEGIN TRANSACTION');
      let out: Awaited<ReturnType<typeof tolerantInsert>>;
      try {
        out = await tolerantInsert(conn, this.input.dataSource, tolerantPlan, this.input, this.loadedAt, bigLines);
      } catch (e) {
        if (this.gzipCheck) await this.gzipCheck;
        throw this.classify(e);
      }
      if (out !== 'needBigLines') {
        const expected = await this.seen;
        if (out.rows + out.quarantined !== expected) {
          throw new RecordCountMismatchError(this.input.bucket, this.input.key, expected, out.rows, out.quarantined);
        }
        return out;
      }
      bigLines = true;
    }
  }

  /** The plan's own sorting of the records before the tolerant path (CSV: the splitter), whose count is then the records seen. */
  private async sortRecords(plan: ReadPlan, sortRecords: NonNullable<ReadPlan['sortRecords']>): Promise<ReadPlan> {
    const file = { path: this.plainPath, gzip: this.streamGzip, tempPath: (suffix: string) => this.tempPath(suffix) };
    const { records, ...tolerant } = await sortRecords(file).catch(async (e: unknown) => {
      if (this.gzipCheck) await this.gzipCheck;
      throw e;
    });
    this.seen = Promise.resolve(records);
    return { ...plan, ...tolerant };
  }
}
