/**
 * The error model (issue 20, item 4): one base class that names the error and
 * says whether it is terminal; one conversion of an activity's errors to
 * Temporal failures; one table of the API's statuses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { ServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { activityFailure, convertingFailures, TerminalFailure } from '../../src/activities/failures';
import { getFailure, s3Failure } from '../../src/activities/s3Failures';
import { ThreadDownloadError } from '../../src/activities/downloadThread';
import { createApi } from '../../src/api/app';
import type { ApiDeps } from '../../src/api/deps';
import { ApiError, errorAnswer, temporalUnavailable } from '../../src/api/errors';
import { AssumeRoleError } from '../../src/aws/credentials';
import { CliError } from '../../src/cli/run';
import { InferenceError } from '../../src/cli/schemaInference';
import { NotFoundError, PausedError } from '../../src/client/dataSources';
import { ConfigError } from '../../src/config';
import type { ObjectVersion } from '../../src/contract';
import { DatafileError } from '../../src/datafiles/errors';
import { SecretStoreError } from '../../src/datafiles/secretStore';
import { EnvironmentError } from '../../src/environment';
import { EventShapeError } from '../../src/events/parse';
import { BucketUriError } from '../../src/s3uri/errors';
import { FileUnreadableError, RecordCountMismatchError } from '../../src/sinks/duckdb';
import { GzipFeedBroken } from '../../src/sinks/gzipCheck';
import { ParquetFooterError } from '../../src/sinks/parquetFooter';
import { isTerminal, S3cError, TerminalError } from '../../src/util/errors';

/** A gRPC error as the Temporal client's connection raises it. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

/** The Temporal client's error for a server it cannot reach (what a query of a stopped server throws). */
const unavailable = (): Error =>
  new ServiceError('Failed to query Workflow', { cause: grpcError(14, 'UNAVAILABLE: No connection established') });

describe('the base class: the name is the class, terminal says whether retrying can fix it', () => {
  // [error, its name, terminal]: terminal as the activities treated each before the model (a retryable one is retried).
  const cases: [Error, string, boolean][] = [
    [new AssumeRoleError('denied', false), 'AssumeRoleError', true],
    [new AssumeRoleError('throttled', true), 'AssumeRoleError', false],
    [new FileUnreadableError('b', 'k', 'not gzip data'), 'FileUnreadableError', true],
    [new RecordCountMismatchError('b', 'k', 3, 1, 1), 'RecordCountMismatchError', true],
    [new ParquetFooterError('cut'), 'ParquetFooterError', true],
    [new GzipFeedBroken('pipe'), 'GzipFeedBroken', false],
    [new ThreadDownloadError({ name: 'NoSuchKey', status: 404 }), 'NoSuchKey', false],
    [
      new DatafileError({
        file: 'a.datasource',
        line: 1,
        what: 'Unknown keyword',
        found: "'X'",
        expected: 'a keyword',
      }),
      'DatafileError',
      false,
    ],
    [new SecretStoreError('unreadable'), 'SecretStoreError', false],
    [new BucketUriError('missing-scheme', 'b/k', 'no scheme'), 'BucketUriError', true],
    [new ConfigError('s3c.yaml: bad'), 'ConfigError', true],
    [new EnvironmentError('--env: bad'), 'EnvironmentError', true],
    [new EventShapeError('no records'), 'EventShapeError', true],
    [new CliError('no'), 'CliError', true],
    [new InferenceError('no schema'), 'InferenceError', true],
    [new NotFoundError('job x not found'), 'NotFoundError', true],
    [new PausedError('ds'), 'PausedError', true],
    [new ApiError(400, 'bad'), 'ApiError', true],
    [new TerminalFailure('gone', 'ObjectGone'), 'TerminalFailure', true],
  ];
  for (const [err, name, terminal] of cases) {
    it(`${name}: ${terminal ? 'terminal' : 'retried'}`, () => {
      assert.ok(err instanceof S3cError, `${name} extends S3cError`);
      assert.equal(err.name, name);
      assert.equal(isTerminal(err), terminal);
    });
  }

  it('terminal unless told otherwise only for TerminalError; a cause is kept', () => {
    assert.equal(new S3cError('x').terminal, false);
    assert.equal(new TerminalError('x').terminal, true);
    assert.equal(new TerminalError('x', { terminal: false }).terminal, false);
    const cause = new Error('inner');
    assert.equal(new S3cError('x', { cause }).cause, cause);
    assert.equal('cause' in new S3cError('x'), false);
    assert.equal(isTerminal(new Error('plain')), false);
    assert.equal(isTerminal('a string'), false);
  });
});

describe('activities: one conversion of errors to Temporal failures', () => {
  it('a terminal error becomes a non-retryable ApplicationFailure, typed by its type, else its name', () => {
    for (const [err, type] of [
      [new TerminalFailure('s3://b/k: object was deleted before it could be loaded', 'ObjectGone'), 'ObjectGone'],
      [new FileUnreadableError('b', 'k', 'not gzip data'), 'FileUnreadable'],
      [new RecordCountMismatchError('b', 'k', 3, 1, 1), 'RecordCountMismatch'],
      [new AssumeRoleError('AssumeRole of arn denied', false), 'AssumeRoleError'],
      [new ParquetFooterError('the Parquet file is encrypted'), 'ParquetFooterError'],
    ] as const) {
      const failure = activityFailure(err);
      assert.ok(failure instanceof ApplicationFailure, String(failure));
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, type);
      assert.equal(failure.message, err.message);
    }
  });

  it('any other error is thrown as it is, for Temporal to retry', () => {
    for (const err of [
      new AssumeRoleError('throttled', true),
      new DatafileError({ file: 'f', line: 1, what: 'w', found: 'f', expected: 'e' }),
      new Error('socket hang up'),
      'text',
    ]) {
      assert.equal(activityFailure(err), err);
    }
    const already = ApplicationFailure.nonRetryable('kept', 'Kept');
    assert.equal(activityFailure(already), already);
  });

  it('convertingFailures keeps every activity under its name and converts what it throws', async () => {
    const activities = convertingFailures({
      ok: async (n: number) => n + 1,
      gone: async () => {
        throw new TerminalFailure('gone', 'ObjectGone');
      },
      flaky: async () => {
        throw new Error('socket hang up');
      },
    });
    assert.deepEqual(Object.keys(activities), ['ok', 'gone', 'flaky']);
    assert.equal(await activities.ok(1), 2);
    await assert.rejects(
      activities.gone(),
      (e: unknown) => e instanceof ApplicationFailure && e.nonRetryable && e.type === 'ObjectGone',
    );
    await assert.rejects(
      activities.flaky(),
      (e: unknown) => e instanceof Error && !(e instanceof ApplicationFailure) && e.message === 'socket hang up',
    );
  });

  const s3 = (name: string, status?: number): Error =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  const object: ObjectVersion = {
    bucket: 'b',
    key: 'k.csv',
    etag: 'e1',
    size: 1,
    lastModified: '2024-01-01T00:00:00.000Z',
    format: 'csv',
    compression: 'none',
  };

  it('S3 errors: final ones terminal with their type, the rest retried', () => {
    // [error, failure type or undefined (retried), message]
    const cases: [Error, string | undefined, string][] = [
      [s3('NoSuchBucket', 404), 'NoSuchBucket', 'listing s3://b/: the bucket does not exist'],
      [s3('AccessDenied', 403), 'AccessDenied', "listing s3://b/: access denied; check the role's access policy"],
      [
        s3('InvalidArgument', 400),
        'RequestRefused',
        'listing s3://b/: the store refused the request (HTTP 400 InvalidArgument); not retried',
      ],
      [s3('SlowDown', 503), undefined, 'listing s3://b/: SlowDown (HTTP 503); will retry'],
      [
        Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:9000'), { code: 'ECONNREFUSED' }),
        undefined,
        'listing s3://b/: ECONNREFUSED; will retry',
      ],
    ];
    for (const [err, type, message] of cases) {
      const failure = s3Failure(err, 'listing s3://b/');
      assert.equal(failure.message, message);
      assert.equal(isTerminal(failure), type !== undefined, message);
      if (type) assert.equal((failure as TerminalFailure).type, type);
    }
    const denied = new AssumeRoleError('denied', false);
    assert.equal(s3Failure(denied, 'listing'), denied);
  });

  it('a GET: gone and overwritten are terminal', () => {
    assert.equal((getFailure(s3('NoSuchKey', 404), object) as TerminalFailure).type, 'ObjectGone');
    const overwritten = getFailure(s3('PreconditionFailed', 412), object) as TerminalFailure;
    assert.equal(overwritten.type, 'ObjectOverwritten');
    assert.equal(
      overwritten.message,
      's3://b/k.csv: object was overwritten (ETag e1 is gone); the new version is loaded on its own',
    );
    assert.equal(isTerminal(getFailure(s3('InternalError', 500), object)), false);
  });
});

describe('API: one table of statuses', () => {
  it('each class answers with its status', () => {
    const cases: [Error, number, string][] = [
      [new ApiError(409, 'job j has already ended'), 409, 'job j has already ended'],
      [new ApiError(413, 'too big'), 413, 'too big'],
      [new NotFoundError('job j not found'), 404, 'job j not found'],
      [new PausedError('ds'), 409, new PausedError('ds').message],
      [
        new RangeError('max_files must be an integer from 1 to 10, found 11'),
        400,
        'max_files must be an integer from 1 to 10, found 11',
      ],
      [new EventShapeError('no Records'), 400, 'not an S3 event: no Records'],
    ];
    for (const [err, status, error] of cases) {
      assert.deepEqual(errorAnswer(err), { status, error, logged: false }, err.name);
    }
  });

  it('an unknown error is a 500, logged', () => {
    assert.deepEqual(errorAnswer(new Error('boom')), { status: 500, error: 'internal error: boom', logged: true });
    assert.deepEqual(errorAnswer(new ConfigError('bad')), { status: 500, error: 'internal error: bad', logged: true });
    // A gRPC error other than "unavailable" (the server answered) is not a 503.
    assert.equal(
      errorAnswer(new ServiceError('query failed', { cause: grpcError(3, 'INVALID_ARGUMENT: no') })).status,
      500,
    );
  });

  it('503 only when Temporal cannot be reached', () => {
    assert.equal(temporalUnavailable(unavailable()), true);
    assert.equal(temporalUnavailable(grpcError(14, 'UNAVAILABLE')), true);
    assert.equal(temporalUnavailable(new Error('UNAVAILABLE')), false);
    assert.deepEqual(errorAnswer(unavailable()), {
      status: 503,
      error: 'Temporal is unavailable: Failed to query Workflow',
      logged: true,
    });
  });

  it("app.onError answers from the table: a job's report when Temporal is down, gone, or failing", async () => {
    const clientFailing = (err: Error): Client =>
      ({ workflow: { getHandle: () => ({ describe: () => Promise.reject(err) }) } }) as unknown as Client;
    const ask = async (err: Error): Promise<[number, unknown]> => {
      const app = createApi({
        client: clientFailing(err),
        token: 't',
        projectDir: '/nonexistent',
        workspace: { workspace: 'w' },
      } as ApiDeps);
      const res = await app.request('/v0/jobs/j1', { headers: { authorization: 'Bearer t' } });
      return [res.status, await res.json()];
    };
    const quiet = console.error;
    console.error = () => undefined;
    try {
      assert.deepEqual(await ask(unavailable()), [503, { error: 'Temporal is unavailable: Failed to query Workflow' }]);
      assert.deepEqual(await ask(new WorkflowNotFoundError('not found', 'j1', undefined)), [
        404,
        { error: 'job j1 not found' },
      ]);
      assert.deepEqual(await ask(new Error('boom')), [500, { error: 'internal error: boom' }]);
    } finally {
      console.error = quiet;
    }
  });
});
