/**
 * Bucket URIs (`s3://bucket/pattern`): parsing, key matching, listing
 * prefixes, collision checks and formats by extension (SPEC R3, R4.1).
 *
 * Pure: no I/O, no clock, no randomness, no Node built-ins — workflow code
 * imports it too. See README.md in this folder for the rules.
 */
export { BucketUriError, type BucketUriErrorType } from './errors';
export { formatOfKey, objectFormat, SUPPORTED_EXTENSIONS, type Compression, type ObjectFormat } from './format';
export { parseBucketUri, type BucketUri, type UriMode } from './parse';
export {
  collisionExample,
  compileBucketUri,
  describePattern,
  hasWildcard,
  listPrefix,
  matchKey,
  patternsCollide,
  type CompiledBucketUri,
} from './pattern';
