/**
 * S3 event intake (SPEC R9.2): parsing of EventBridge events, S3 event
 * notification records (S3, SNS, MinIO webhooks), routing to `@auto` data
 * sources, and the handler behind `POST /v0/events/s3`.
 */
export {
  decodeRecordKey,
  EventShapeError,
  isCreateEventName,
  parseS3Events,
  type CreatedObject,
  type ParsedEvents,
  type SnsSubscription,
} from './parse';
export { followsEvents, routeObjects, versionFor, type Routing } from './route';
export { compareSequencers, SequencerMemory } from './sequencer';
export { handleS3Events, type IntakeDeps, type IntakeResult } from './intake';
