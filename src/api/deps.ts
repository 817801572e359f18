/** What the API needs. */
import type { Client } from '@temporalio/client';
import type { TemporalConfig, WorkspaceConfig } from '../config';

export interface ApiDeps {
  /** Temporal client of the namespace the data sources run in. */
  client: Client;
  /** The project folder: where `.s3c/deployment.json` is. */
  projectDir: string;
  workspace: WorkspaceConfig;
  temporal: TemporalConfig;
  /** The bearer token every call must present. */
  token: string;
  /** The workspace secret the external ids derive from (R7.2). */
  workspaceSecret: string;
  /** AWS account id of the production workers, for the trust policy. */
  cloudAccountId?: string;
}
