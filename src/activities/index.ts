/**
 * Activities: every side effect of a data source (R8.2). Each is retryable
 * and idempotent; errors that retrying cannot fix are terminal and fail the
 * activity for good, as non-retryable `ApplicationFailure`s whose message
 * says why (converted in one place: failures.ts).
 *
 * They are built by `createActivities(deps)` so a worker can give them the
 * destination sink and the credentials cache it owns. Workflows call them by
 * these names, and recorded histories replay them: a name never changes.
 */
import { discoverObjects, verifyObjects, type DiscoverInput, type VerifyInput } from './discover';
import { expireRows, prepareDestination, prepareSampleTables, type ExpireRowsInput } from './destination';
import { convertingFailures } from './failures';
import { ingestObjects, type IngestBatchInput } from './ingestMany';
import { ingestObject, type IngestInput } from './ingestOne';
import { queueIntakeActivities } from './queueIntake';
import { activityScope, type ActivityDeps } from './scope';
import { runSql } from './sql';
import type { SqlRequest } from '../contract/sql';
import type { DataSourceDef } from '../datafiles/types';

/** The activities, bound to a worker's sink and credentials. */
export function createActivities(deps: ActivityDeps) {
  const scope = activityScope(deps);
  return convertingFailures({
    expireRows: (input: ExpireRowsInput) => expireRows(scope, input),
    prepareDestination: (dataSource: DataSourceDef) => prepareDestination(scope, dataSource),
    prepareSampleTables: (dataSource: DataSourceDef) => prepareSampleTables(scope, dataSource),
    discoverObjects: (input: DiscoverInput) => discoverObjects(scope, input),
    verifyObjects: (input: VerifyInput) => verifyObjects(scope, input),
    ingestObject: (input: IngestInput) => ingestObject(scope, input),
    ingestObjects: (input: IngestBatchInput) => ingestObjects(scope, input),
    runSql: (request: SqlRequest) => runSql(scope, request),
    ...queueIntakeActivities(scope),
  });
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './scope';
export { WATERMARK_GRACE_MS } from './scope';
export { uploadGuardWarning, type DiscoverInput, type DiscoverResult, type VerifyInput } from './discover';
export type { ExpireRowsInput, ExpireRowsResult } from './destination';
export type { IngestInput } from './ingestOne';
export type { BatchOutcome, IngestBatchInput } from './ingestMany';
export type { IngestOutcome } from './load';
export type { VerifiedObject } from './verify';
