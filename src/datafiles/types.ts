/**
 * The parsed, validated form of `.connection` and `.datasource` files.
 *
 * These types are shared by the parser (src/datafiles), the destination sinks
 * (src/sinks), the activities and — as plain data — the workflows. Keep them
 * plain JSON-serialisable objects: they travel through Temporal payloads.
 */

/** A column type of the schema language (ClickHouse type names, SPEC R1.3). */
export type ColumnType =
  | { kind: 'String' }
  | { kind: 'LowCardinality'; inner: ColumnType }
  | { kind: 'FixedString'; length: number }
  | { kind: 'UUID' }
  | { kind: 'Bool' }
  | { kind: 'Int'; bits: 8 | 16 | 32 | 64; signed: boolean }
  | { kind: 'Float'; bits: 32 | 64 }
  | { kind: 'Decimal'; precision: number; scale: number }
  | { kind: 'Date' }
  | { kind: 'Date32' }
  | { kind: 'DateTime'; timezone?: string }
  | { kind: 'DateTime64'; precision: number; timezone?: string }
  | { kind: 'Nullable'; inner: ColumnType }
  | { kind: 'Array'; element: ColumnType }
  | { kind: 'Map'; key: ColumnType; value: ColumnType };

/** One column of a `SCHEMA >` block. */
export interface Column {
  /** Column name, without backticks. */
  name: string;
  /** The type as written, normalised (e.g. `Nullable(Int32)`), for messages. */
  typeText: string;
  type: ColumnType;
  /** JSONPath (`$.a.b`, `$.a[0]`, `$['k y']`, `$.a[:]`, `$`) when given. */
  jsonPath?: string;
  /** The `DEFAULT` expression as written, when given. */
  defaultExpr?: string;
  /** 1-based line in the datafile, for error messages. */
  line: number;
}

export type ImportSchedule =
  { kind: 'auto' } | { kind: 'once' } | { kind: 'on-demand' } | { kind: 'cron'; expression: string };

export type FileFormat = 'csv' | 'ndjson' | 'parquet';

/** The units of an `ENGINE_TTL` interval (here, not in ttl.ts: workflow code checks payloads against them). */
export const TTL_UNITS = ['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'] as const;

/** A unit of an `ENGINE_TTL` interval. */
export type TtlUnit = (typeof TTL_UNITS)[number];

/** `ENGINE_TTL` parsed (src/datafiles/ttl.ts): a row expires once `column + amount unit` has passed. */
export interface TtlRule {
  column: string;
  amount: number;
  unit: TtlUnit;
}

/** A parsed `.datasource` file. */
export interface DataSourceDef {
  /** The data source's name: its file name without `.datasource`. */
  name: string;
  /** Path of the file it was read from. */
  path: string;
  description?: string;
  schema: Column[];
  engine: string;
  partitionKey?: string;
  /** Sorting key as written, or the default rule of R1.3 applied. */
  sortingKey?: string;
  ttl?: string;
  /** Present when the data source imports from S3. */
  import?: ImportSettings;
}

export interface ImportSettings {
  connectionName: string;
  /** Full `s3://bucket/pattern` URI as written. */
  bucketUri: string;
  schedule: ImportSchedule;
  /** ISO-8601 instant with explicit offset, normalised to `...Z`. */
  fromTimestamp?: string;
  /** Format override (IMPORT_FORMAT); otherwise each object's extension decides. */
  format?: FileFormat;
  /** IMPORT_CSV_HEADER: whether a CSV file's first record is a header; unset (`auto`) → detected. */
  csvHeader?: boolean;
  /** IMPORT_CSV_DELIMITER: the CSV delimiter, one character; unset → detected. */
  csvDelimiter?: string;
  /** IMPORT_ENCODING: the canonical name of the text encoding of CSV and NDJSON files; unset (`auto`) → detected. */
  encoding?: string;
}

/**
 * A setting value that may still hold `{{ tb_secret("NAME"[, "default"]) }}`
 * references; resolved by `resolveSecrets` before use.
 */
export type RawValue = string;

/** A parsed `.connection` file of `TYPE s3`, secrets already resolved. */
export interface ConnectionDef {
  name: string;
  path: string;
  type: 's3';
  region: string;
  /** IAM role to assume (S3_ARN). */
  roleArn?: string;
  /** Extension: S3-compatible endpoint (MinIO, R2, ...). */
  endpoint?: string;
  /** Extension: static keys for local use, instead of a role. */
  accessKey?: string;
  secretKey?: string;
}
