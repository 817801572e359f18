/**
 * Datafiles: parsers and validation of `.connection` and `.datasource` files,
 * secret references and the local secrets store (SPEC R1).
 */
export type {
  Column,
  ColumnType,
  ConnectionDef,
  DataSourceDef,
  FileFormat,
  ImportSchedule,
  ImportSettings,
  RawValue,
} from './types';
export { DatafileError, type DatafileErrorInit, type Where, formatDatafileMessage, isDatafileError } from './errors';
export {
  ACCEPTED_COLUMN_TYPES,
  baseColumnType,
  checkColumnType,
  formatColumnType,
  isTimeZone,
  parseColumnType,
} from './columnType';
export { type JsonPathSegment, checkJsonPath } from './jsonPath';
export {
  INTERNAL_TABLE_PREFIX,
  QUARANTINE_EXTRA_COLUMNS,
  QUARANTINE_SUFFIX,
  checkColumnNameFree,
  checkDataSourceNameFree,
} from './reserved';
export { DEFAULT_FUNCTIONS, type DefaultValue, checkDefaultExpr } from './defaultExpr';
export { checkCron } from './cron';
export { ENGINES, FILE_FORMATS, checkBucketUri, checkFromTimestamp, checkSchedule } from './settings';
export { TTL_UNITS, checkTtl, ttlText } from './ttl';
export {
  DATASOURCE_KEYWORDS,
  type DataSourceCheck,
  type DataSourceKeyword,
  type ResolveValue,
  checkDataSource,
  defaultSortingKey,
  parseDataSource,
} from './datasource';
export {
  CONNECTION_KEYWORDS,
  type ConnectionCheck,
  type ConnectionKeyword,
  checkConnection,
  parseConnection,
  roleAccountId,
} from './connection';
export {
  SECRET_NAME_PATTERN,
  type SecretLookup,
  type SecretReference,
  findSecretReferences,
  hasSecretReference,
  resolveSecrets,
} from './secrets';
export { SecretStore, SecretStoreError, defaultSecretsFile, secretLookup } from './secretStore';
export { type Project, findDatafiles, loadProject } from './project';
export { CONNECTION_NAME_PATTERN, CONNECTION_NAME_RULE, DATAFILE_NAME_PATTERN } from './statements';
