/**
 * gRPC status codes of Temporal's answers, read through the error chain
 * (the client's ServiceError wraps the gRPC error as its cause).
 */
import { isGrpcServiceError } from '@temporalio/client';

/** The gRPC status codes we act on. */
export const GRPC_STATUS = {
  /** The call outlived its deadline: e.g. a query the workflow's worker did not answer in time (busy or stopped). */
  DEADLINE_EXCEEDED: 4,
  /** The Temporal server cannot be reached. */
  UNAVAILABLE: 14,
} as const;

/** The gRPC status code of `err` or of an error it wraps; undefined when none is a gRPC error. */
export function grpcStatusOf(err: unknown): number | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
}

/** Whether asking again later may succeed: the server was unreachable or the answer late. */
export function transientTemporalFailure(err: unknown): boolean {
  const code = grpcStatusOf(err);
  return code === GRPC_STATUS.DEADLINE_EXCEEDED || code === GRPC_STATUS.UNAVAILABLE;
}
