/**
 * Messages between workflows and their clients: signals, queries, search
 * attributes and workflow ids, with the limiter's payloads.
 *
 * Deterministic and I/O-free: imported by workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DataSourceDef } from '../datafiles/types';
import type { DataSourceSettings, DataSourceState, RejectedSignals, SyncRequest } from './dataSources';
import type { JobErrorsPage, JobProgress, JobReport } from './jobs';
import type { ObjectVersion } from './objects';

export const syncNowSignal = defineSignal<[SyncRequest]>('syncNow');
export const objectsCreatedSignal = defineSignal<[ObjectVersion[]]>('objectsCreated');
/** A new definition deployed in place (only `@once` or `@on-demand` → `@auto` is allowed, R2.3). */
export const redeploySignal = defineSignal<[DataSourceDef]>('redeploy');
export const settingsSignal = defineSignal<[DataSourceSettings]>('settings');
export const jobProgressSignal = defineSignal<[JobProgress]>('jobProgress');
export const pauseSignal = defineSignal<[]>('pause');
export const resumeSignal = defineSignal<[]>('resume');
export const stateQuery = defineQuery<DataSourceState>('state');
export const jobStatusQuery = defineQuery<JobReport>('jobStatus');

/** Pages through every file error of a job's run: `[offset, limit]` (limit at most 100). */
export const jobErrorsQuery = defineQuery<JobErrorsPage, [number, number]>('jobErrors');

/** The workspace rate limit (R5.5): at most `filesPerPeriod` files start per period; 0 = unlimited. */
export interface LimiterConfig {
  filesPerPeriod: number;
  periodSeconds: number;
}

export interface TokenRequest {
  /** Workflow id of the job asking; the grant is signalled back to it. */
  requester: string;
  requestId: string;
  count: number;
}

export interface TokenGrant {
  requestId: string;
  count: number;
}

export interface LimiterState {
  config: LimiterConfig;
  available: number;
  inUse: number;
  waiting: { requester: string; count: number }[];
  /** Tokens granted since the limiter started. */
  granted: number;
  /** The latest grants (at most 200), oldest first: when, to whom, how many. */
  recentGrants: { at: string; requester: string; count: number }[];
  /** Signals the limiter ignored because their payload did not fit; absent when there was none. */
  rejectedSignals?: RejectedSignals;
}

export const tokenRequestSignal = defineSignal<[TokenRequest]>('tokenRequest');
export const tokenGrantSignal = defineSignal<[TokenGrant]>('tokenGrant');
export const configureLimiterSignal = defineSignal<[LimiterConfig]>('configureLimiter');
export const limiterStateQuery = defineQuery<LimiterState>('limiterState');

/** Stable id of a workspace's limiter workflow. */
export function limiterWorkflowId(workspace: string): string {
  return `limiter/${workspace}`;
}

export const SA_DATA_SOURCE = defineSearchAttributeKey('S3cDataSource', SearchAttributeType.KEYWORD);
export const SA_BUCKET = defineSearchAttributeKey('S3cBucket', SearchAttributeType.KEYWORD);
export const SA_SCHEDULE = defineSearchAttributeKey('S3cSchedule', SearchAttributeType.KEYWORD);
export const SA_JOB_KIND = defineSearchAttributeKey('S3cJobKind', SearchAttributeType.KEYWORD);

/** Stable id of a data source's workflow (DESIGN "Observability"). */
export function dataSourceWorkflowId(workspace: string, name: string): string {
  return `datasource/${workspace}/${name}`;
}
