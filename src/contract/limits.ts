/**
 * Batch and size thresholds, in one place.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */

// ---------------------------------------------------------------------------
// FROZEN BY WORKFLOW DETERMINISM. Workflow code computes with these: changing
// one changes the commands a running workflow issues, so its recorded history
// no longer replays (test/unit/replay.test.ts). After a release, change one
// only behind a registered patch (workflows/patches.ts), keeping the old value
// for the old branch.
// ---------------------------------------------------------------------------

// The job workflow (workflows/job.ts).
/** Objects asked of one listing call; bounds each activity result's size. */
export const DISCOVER_BATCH = 500;
/** Files ingested at once by one job (downloads overlap; the sink serialises writes). */
export const INGEST_CONCURRENCY = 4;
/** Files up to this size are loaded in batches (one activity, one transaction). */
export const SMALL_FILE_BYTES = 16 * 1024 * 1024;
/**
 * A batch holds at most this many files and bytes.
 * One DuckDB statement over 1,000 small files (1M rows) cost ~1.2 s less CPU
 * than four over 250: theirs left 0.5-0.8 s of checkpoint work (their rows
 * went through the WAL), while the large one wrote its rows to the file once.
 */
export const BATCH_LIMITS = { files: 1000, bytes: 256 * 1024 * 1024 };
/** Continue as new past this many history events, well before Temporal's limits. */
export const JOB_MAX_HISTORY_EVENTS = 8000;

// The data source workflow (workflows/dataSource.ts).
/** Continue as new past this many events (or when the server suggests it). */
export const DATA_SOURCE_MAX_HISTORY_EVENTS = 2000;
/** Request ids remembered for idempotent sync requests. */
export const MAX_SEEN_REQUEST_IDS = 200;
/** Event objects handed to one job at most. */
export const MAX_OBJECTS_PER_JOB = 1000;

// The limiter workflow (workflows/limiter.ts).
export const LIMITER_MAX_HISTORY_EVENTS = 4000;
export const LIMITER_RECENT_GRANTS = 200;

// Event objects checked by a job (workflows/eventObjects.ts).
/** Objects checked at once by one activity (bounds its input and result). */
export const VERIFY_BATCH = 100;

// The sync cursor (workflows/cursor.ts).
/** Versions that failed for good, remembered at most (oldest forgotten first). */
export const MAX_FAILED_VERSIONS = 1000;

// Payload bounds (workflows/bounds.ts).
/** File errors a report keeps (the first ones); the rest are counted in `errors_omitted`. */
export const MAX_REPORT_ERRORS = 100;
/** Longest error text kept in a report (keys are up to 1 KB; messages add a few hundred bytes). */
export const MAX_ERROR_TEXT = 2000;
/** Bytes of object versions (as JSON) handed to one job: its input stays well under the limit. */
export const MAX_JOB_OBJECT_BYTES = 256 * 1024;
/** Bytes of the failed-version map (keys + ETags) kept in a cursor. */
export const MAX_FAILED_BYTES = 256 * 1024;

// Rejected signals (workflows/payloads.ts).
/** Longest reason kept for a rejected signal, and how many rejections are kept. */
export const MAX_REJECTED_REASON = 300;
export const MAX_REJECTED_KEPT = 20;

// ---------------------------------------------------------------------------
// Free to tune: read by activities, the sink and event intake only; no
// workflow sees them, so a change does not touch replay.
// ---------------------------------------------------------------------------

// The DuckDB sink (sinks/duckdb/).
/**
 * Files up to this size (compressed, as downloaded) are loaded together by
 * `ingestFiles`; larger ones one at a time (a batch stages its rows once).
 */
export const BATCH_FILE_MAX_BYTES = 32 * 1024 * 1024;
/** Upper bound of one batched statement: bytes (uncompressed) and files. */
export const BATCH_MAX_BYTES = 256 * 1024 * 1024;
export const BATCH_MAX_FILES = 5000;

// Event intake (events/intake.ts).
/** Bytes of object versions (as JSON) per signal: Temporal refuses a payload over 2 MB. */
export const MAX_SIGNAL_BYTES = 256 * 1024;

// Activities (activities/download.ts).
/** Objects from this size on are downloaded on a thread of their own (see downloadInThread). */
export const THREAD_DOWNLOAD_BYTES = 16 * 1024 * 1024;
