/**
 * The event intake (SPEC R9.2): parses a request body, drops stale events,
 * routes each object to the deployed `@auto` data sources that select it, and
 * signals each of their workflows once with the batch of its objects.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { readDeployment } from '../deploy/store';
import { dataSourceWorkflowId, objectsCreatedSignal } from '../contract';
import { parseS3Events, type SnsSubscription } from './parse';
import { routeObjects } from './route';
import { SequencerMemory } from './sequencer';
import { MAX_SIGNAL_BYTES } from '../contract/limits';

/** What the endpoint answers for one request. */
export interface IntakeResult {
  /** Object creations read from the body (stale ones included). */
  accepted: number;
  /** Data source name → objects signalled to it. */
  routed: Record<string, number>;
  /** Events that are not object creations, or older than one already seen for their key. */
  ignored: number;
  /** Of `ignored`: creations older than one already seen for the same key. */
  stale: number;
  /** Creations that no deployed `@auto` data source selects. */
  unmatched: number;
  /** Creations selected only by data sources whose IMPORT_FROM_TIMESTAMP they are older than (ignored). */
  olderThanFromTimestamp: number;
  /** Events that looked like creations but lacked a field. */
  invalid: string[];
  /** Data sources that matched but whose workflow is not running. */
  notRunning: string[];
  /** SNS subscription confirmations found in the body (not confirmed automatically). */
  subscriptions: SnsSubscription[];
}

/** What the intake needs. */
export interface IntakeDeps {
  client: Client;
  projectDir: string;
  /** The named environment whose deployment to read; absent for the default one. */
  environment?: string;
  workspace: string;
  /** Newest sequencer per key; shared across requests. */
  sequencers: SequencerMemory;
}

/**
 * Splits a data source's objects into signals of at most MAX_SIGNAL_BYTES
 * (issue 18, item 7): a 3 MB batch of 20,000 records is 12 signals, not one
 * refused every time. A sender that retries after a failure part-way resends
 * parts already delivered: harmless, the workflow dedupes by key + ETag.
 */
export function signalSizedParts<T>(objects: T[], maxBytes = MAX_SIGNAL_BYTES): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const object of objects) {
    const size = JSON.stringify(object).length + 1;
    if (part.length > 0 && bytes + size > maxBytes) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(object);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

/**
 * Handles one event request body (JSON-decoded).
 *
 * @throws {EventShapeError} when the body is not a supported event shape.
 * @throws the Temporal client's error when a signal cannot be delivered for
 *   another reason than a workflow that is not running (the caller answers
 *   5xx, and the sender retries; duplicates are harmless).
 */
export async function handleS3Events(deps: IntakeDeps, body: unknown): Promise<IntakeResult> {
  const parsed = parseS3Events(body);
  // Record every sequencer of the batch first, so that an older event for a
  // key is dropped whether it comes before or after the newer one.
  for (const o of parsed.objects) deps.sequencers.record(o.bucket, o.key, o.sequencer);
  const fresh = parsed.objects.filter((o) => !deps.sequencers.isStale(o.bucket, o.key, o.sequencer));
  const stale = parsed.objects.length - fresh.length;

  const deployment = readDeployment(deps.projectDir, deps.workspace, deps.environment);
  const defs = Object.values(deployment.dataSources).map((d) => d.def);
  const routing = routeObjects(fresh, defs);

  const routed: Record<string, number> = {};
  const notRunning: string[] = [];
  for (const [name, objects] of routing.byDataSource) {
    try {
      const handle = deps.client.workflow.getHandle(dataSourceWorkflowId(deps.workspace, name));
      for (const part of signalSizedParts(objects)) await handle.signal(objectsCreatedSignal, part);
      routed[name] = objects.length;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        notRunning.push(name);
        continue;
      }
      throw err;
    }
  }
  return {
    accepted: parsed.objects.length,
    routed,
    ignored: parsed.ignored + stale,
    stale,
    unmatched: routing.unmatched,
    olderThanFromTimestamp: routing.olderThanFromTimestamp,
    invalid: parsed.invalid,
    notRunning,
    subscriptions: parsed.subscriptions,
  };
}
