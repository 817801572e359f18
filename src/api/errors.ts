/**
 * The API's error model: what a route throws to answer with a status, and
 * the one table that maps every other error class to its status. An unknown
 * error is a 500; 503 is only for Temporal being unavailable (the client's
 * connection), or no worker serving queries, which a retry later may find back.
 */
import { GRPC_STATUS, grpcStatusOf } from '../client/grpcStatus';
import { NotFoundError, PausedError } from '../client/dataSources';
import { SqlQueryError, SqlRefusedError, SqlTimeoutError, SqlUnavailableError } from '../contract/sql';
import { EventShapeError } from '../events';
import { firstLine, TerminalError } from '../util/errors';

/** Statuses the API answers errors with. */
export type ErrorStatus = 400 | 401 | 404 | 409 | 413 | 500 | 503;

/** An error with its HTTP status (as hono's HTTPException); its message is what the client reads. */
export class ApiError extends TerminalError {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** A class of error a route may throw: the status it answers with, and the words before its message. */
interface ErrorRow {
  type: abstract new (...args: never[]) => Error;
  status: ErrorStatus;
  prefix?: string;
}

/** Every error class the API knows, first match first; ApiError carries its own status. */
export const ERROR_STATUSES: readonly ErrorRow[] = [
  { type: NotFoundError, status: 404 },
  { type: PausedError, status: 409 },
  // A request's value out of range, as the client checks it (a sample's max_files).
  { type: RangeError, status: 400 },
  { type: EventShapeError, status: 400, prefix: 'not an S3 event: ' },
  // A query (GET /v0/sql) the worker refused, DuckDB failed, or stopped at its time limit: the client changes it.
  { type: SqlRefusedError, status: 400 },
  { type: SqlQueryError, status: 400 },
  { type: SqlTimeoutError, status: 400 },
  // No worker serves queries: one may start, as Temporal may come back.
  { type: SqlUnavailableError, status: 503 },
];

/** What the API answers for an error: its status and the `error` the client reads. */
export interface ErrorAnswer {
  status: ErrorStatus;
  error: string;
  /** True for an answer that is the server's fault (500, 503): the API logs it. */
  logged: boolean;
}

/** Whether `err` (or an error it wraps, as the client's ServiceError does) says the Temporal server cannot be reached. */
export function temporalUnavailable(err: unknown): boolean {
  return grpcStatusOf(err) === GRPC_STATUS.UNAVAILABLE;
}

/** The answer to an error a route threw: by its class (see {@link ERROR_STATUSES}), else 503 or 500. */
export function errorAnswer(err: unknown): ErrorAnswer {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiError) return { status: err.status, error: message, logged: false };
  const row = ERROR_STATUSES.find((r) => err instanceof r.type);
  if (row) return { status: row.status, error: `${row.prefix ?? ''}${message}`, logged: false };
  if (temporalUnavailable(err))
    return { status: 503, error: `Temporal is unavailable: ${firstLine(err)}`, logged: true };
  return { status: 500, error: `internal error: ${message}`, logged: true };
}
