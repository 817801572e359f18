/** What `planDeploy` is given and what it answers, shared by the plan, its rules and `applyDeploy`. */
import type { S3ClientCache } from '../aws/credentials';
import type { TemporalConfig, WorkspaceConfig } from '../config';
import type { Project, SecretLookup } from '../datafiles';
import type { Deployment } from './store';
import type { WrittenFile } from './written';

export interface DeployChange {
  action: 'create' | 'update' | 'remove' | 'unchanged';
  kind: 'connection' | 'datasource';
  name: string;
  detail: string;
  /**
   * What deploy does to a data source's workflow: `start` a new one, `ensure`
   * it runs (start it when it does not), `signal` the new definition to the
   * running one, or `stop` it. Absent: no workflow (no IMPORT_* settings).
   */
  workflow?: 'start' | 'ensure' | 'signal' | 'stop';
}

export interface DeployPlan {
  changes: DeployChange[];
  /** Problems that refuse the deploy; each names the file and line, and what to do. */
  errors: string[];
  /** What the checks verified (bucket, region, prefix), for the user. */
  checks: string[];
  /**
   * What deploy goes on without but the user must know, each with file:line: ENGINE settings the
   * destination cannot honour, permissions denied and what they cost. Printed, never refusing.
   */
  warnings: string[];
  next?: Deployment;
}

export interface DeployOptions {
  projectDir: string;
  workspace: WorkspaceConfig;
  temporal: TemporalConfig;
  lookup: SecretLookup;
  s3: S3ClientCache;
  /** Skip the S3 access checks (tests of pure rules only). */
  skipAccessChecks?: boolean;
  /** The API token the event endpoint expects (for EventBridge API destinations). */
  apiToken?: () => string;
  /**
   * The external id a connection's role is assumed with. Without it, deploy
   * neither records nor checks external ids (tests of other rules).
   */
  externalId?: (connectionName: string) => string;
  /** Accept external ids that differ from the deployed ones (the roles' trust policies were updated). */
  acceptNewExternalIds?: boolean;
}

/** What the plan's steps share: the project, both snapshots, and the plan they add to. */
export interface PlanContext {
  options: DeployOptions;
  project: Project;
  /** The deployed snapshot. */
  previous: Deployment;
  /** The snapshot this deploy writes; each step records what it accepted. */
  next: Deployment;
  plan: DeployPlan;
  /** Each connection's text, by name: the snapshot keeps it (secret references unresolved). */
  connectionTexts: Map<string, string>;
  /** How each connection's file is written, by connection name. */
  connWritten: Map<string, WrittenFile>;
  /** How each data source's file is written, by data source name. */
  dsWritten: Map<string, WrittenFile>;
  /** When this deploy runs (ISO): the deployedAt of what it deploys first. */
  now: string;
}
