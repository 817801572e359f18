/**
 * Parsing of S3 "object created" events (SPEC R9.2), pure: no I/O.
 *
 * Accepted shapes, each alone or in a JSON array:
 * - EventBridge events from S3 (`source: "aws.s3"`, `detail-type: "Object Created"`);
 *   the key in `detail.object.key` is NOT URL-encoded. They arrive by HTTP
 *   (an API destination) or as the bodies of SQS messages (the queue intake).
 * - S3 event notification documents `{ "Records": [...] }` as S3 sends them to
 *   SNS, SQS, Lambda and webhooks; the key in `s3.object.key` IS URL-encoded
 *   (form encoding: `+` is a space, `%2B` a plus).
 * - MinIO's webhook body: the same records plus top-level `EventName` and
 *   `Key` (`bucket/key`, decoded); the records are what counts.
 * - An SNS notification envelope (`Type: "Notification"`) whose `Message` is a
 *   JSON string of one of the above. An SNS `SubscriptionConfirmation` is
 *   reported as such, so that the endpoint can answer it.
 *
 * Everything that is not an object creation (deletes, restores, tagging,
 * `s3:TestEvent`) is counted as ignored, never an error.
 */
import { normalizeEtag } from '../contract';
import { TerminalError } from '../util/errors';

/** One object creation, as an event tells it. */
export interface CreatedObject {
  bucket: string;
  /** The object key, decoded: exactly as S3 lists it. */
  key: string;
  /** ETag without quotes. */
  etag: string;
  size: number;
  /** S3's per-key ordering token (hex), when given. */
  sequencer?: string;
  /** ISO instant of the event. */
  eventTime: string;
  /** Where it came from: `eventbridge` or `s3-record`. */
  source: 'eventbridge' | 's3-record';
}

/** An SNS subscription confirmation seen in the body. */
export interface SnsSubscription {
  topicArn?: string;
  subscribeUrl?: string;
}

/** What a request body holds. */
export interface ParsedEvents {
  objects: CreatedObject[];
  /** Events that are not object creations (deletes, test events ...). */
  ignored: number;
  /** Events that looked like creations but lacked a field; each says what. */
  invalid: string[];
  /** SNS subscription confirmations found. */
  subscriptions: SnsSubscription[];
}

/** Thrown when a body is not any of the supported event shapes at all. */
export class EventShapeError extends TerminalError {
  readonly type = 'EventShapeError';
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

/**
 * Decodes a key of an S3 event notification record: form URL-encoding, where
 * `+` is a space and `%XX` sequences are UTF-8 bytes (`%2B` is `+`).
 * A malformed `%` sequence is kept literally rather than refused.
 */
export function decodeRecordKey(encoded: string): string {
  const spaced = encoded.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Decode the valid runs only, keeping a stray '%' as it is.
    return spaced.replace(/(%[0-9a-fA-F]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

function eventBridgeObject(event: Json, out: ParsedEvents): void {
  const detailType = str(event['detail-type']);
  if (event.source !== 'aws.s3' || detailType !== 'Object Created') {
    out.ignored++;
    return;
  }
  const detail = isObject(event.detail) ? event.detail : {};
  const bucket = isObject(detail.bucket) ? str(detail.bucket.name) : undefined;
  const object = isObject(detail.object) ? detail.object : {};
  const key = str(object.key);
  // AWS writes `etag`; the emulator moto writes `eTag` (docs/events-aws.md).
  const etag = str(object.etag) ?? str(object.eTag);
  const size = num(object.size);
  const where = `EventBridge event ${str(event.id) ?? '(no id)'}`;
  if (!bucket || key === undefined || key === '' || etag === undefined || size === undefined) {
    out.invalid.push(
      `${where}: expected detail.bucket.name, detail.object.key, detail.object.etag and detail.object.size`,
    );
    return;
  }
  out.objects.push({
    bucket,
    key,
    etag: normalizeEtag(etag),
    size,
    sequencer: str(object.sequencer),
    eventTime: isoOr(str(event.time)),
    source: 'eventbridge',
  });
}

function isoOr(time: string | undefined): string {
  if (time !== undefined) {
    const parsed = Date.parse(time);
    if (!Number.isNaN(parsed)) return new Date(parsed).toISOString();
  }
  return new Date().toISOString();
}

/** `ObjectCreated:Put` (AWS) and `s3:ObjectCreated:Put` (MinIO) are both creations. */
export function isCreateEventName(name: string): boolean {
  return /^(s3:)?ObjectCreated:/.test(name);
}

function s3Record(record: unknown, out: ParsedEvents): void {
  if (!isObject(record)) {
    out.invalid.push('S3 event record: expected an object');
    return;
  }
  const name = str(record.eventName) ?? '';
  if (!isCreateEventName(name)) {
    out.ignored++;
    return;
  }
  const s3 = isObject(record.s3) ? record.s3 : {};
  const bucket = isObject(s3.bucket) ? str(s3.bucket.name) : undefined;
  const object = isObject(s3.object) ? s3.object : {};
  const rawKey = str(object.key);
  const etag = str(object.eTag) ?? str(object.etag);
  const size = num(object.size);
  if (!bucket || rawKey === undefined || rawKey === '' || etag === undefined || size === undefined) {
    out.invalid.push(
      `S3 event record ${name}: expected s3.bucket.name, s3.object.key, s3.object.eTag and s3.object.size`,
    );
    return;
  }
  out.objects.push({
    bucket,
    key: decodeRecordKey(rawKey),
    etag: normalizeEtag(etag),
    size,
    sequencer: str(object.sequencer),
    eventTime: isoOr(str(record.eventTime)),
    source: 's3-record',
  });
}

function one(doc: unknown, out: ParsedEvents, depth: number): void {
  if (Array.isArray(doc)) {
    for (const item of doc) one(item, out, depth);
    return;
  }
  if (!isObject(doc)) throw new EventShapeError('expected a JSON object or array of events');
  if (Array.isArray(doc.Records)) {
    for (const record of doc.Records) s3Record(record, out);
    return;
  }
  if ('detail-type' in doc && 'source' in doc) {
    eventBridgeObject(doc, out);
    return;
  }
  if (doc.Type === 'SubscriptionConfirmation' || doc.Type === 'UnsubscribeConfirmation') {
    out.subscriptions.push({ topicArn: str(doc.TopicArn), subscribeUrl: str(doc.SubscribeURL) });
    return;
  }
  if (doc.Type === 'Notification' && typeof doc.Message === 'string') {
    if (depth > 2) throw new EventShapeError('SNS Message nests too deep');
    let inner: unknown;
    try {
      inner = JSON.parse(doc.Message);
    } catch {
      throw new EventShapeError('SNS Notification: Message is not JSON');
    }
    one(inner, out, depth + 1);
    return;
  }
  // `s3:TestEvent`, sent by S3 when a notification is configured.
  if (doc.Event === 's3:TestEvent') {
    out.ignored++;
    return;
  }
  throw new EventShapeError(
    'expected an EventBridge event (source, detail-type, detail), an S3 notification ({"Records": [...]}) or an SNS envelope (Type, Message)',
  );
}

/**
 * Parses a request body (already JSON-decoded) into the object creations it
 * announces.
 *
 * @throws {EventShapeError} when the body is none of the supported shapes.
 */
export function parseS3Events(body: unknown): ParsedEvents {
  const out: ParsedEvents = { objects: [], ignored: 0, invalid: [], subscriptions: [] };
  one(body, out, 0);
  return out;
}
