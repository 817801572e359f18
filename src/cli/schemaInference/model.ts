/** What schema inference produces, its options and its one error (see ./index.ts). */
import type { ColumnType } from '../../datafiles/types';
import { TerminalError } from '../../util/errors';

/** A column of the inferred schema. */
export interface InferredColumn {
  /** Column name, without backticks. */
  name: string;
  type: ColumnType;
  /** JSONPath of the value (NDJSON and Parquet); none for CSV. */
  jsonPath?: string;
  /** `DEFAULT` expression, for Array and Map columns that had missing values. */
  defaultExpr?: string;
}

/** What {@link inferSchema} found in a sample file. */
export interface InferredSchema {
  columns: InferredColumn[];
  /** Rows read from the sample. */
  rows: number;
  /** Remarks for the user: renamed columns, values kept as text, fields left out. */
  notes: string[];
}

/**
 * Raised when no schema can be inferred from the sample: one line that names
 * the sample's key (never a local path) and says what is wrong.
 */
export class InferenceError extends TerminalError {
  readonly type = 'InferenceError';
}

/** Rows of the sample that inference reads at most. */
export const DEFAULT_MAX_SAMPLE_ROWS = 100_000;

/** Options of {@link inferSchema}. */
export interface InferOptions {
  /** Rows of the sample read at most ({@link DEFAULT_MAX_SAMPLE_ROWS}). */
  maxRows?: number;
  /** The object the sample comes from, named in messages (never the local path). */
  key?: string;
  /** DuckDB memory limit of inference and of the trial load ({@link DEFAULT_INFERENCE_MEMORY}). */
  memoryLimit?: string;
  /** Time allowed to read the sample, in ms ({@link DEFAULT_INFERENCE_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** Memory DuckDB may use while inferring (a value that inflates past it fails the inference, quickly). */
export const DEFAULT_INFERENCE_MEMORY = '1GB';
/** Time allowed to read a sample before inference gives up. */
export const DEFAULT_INFERENCE_TIMEOUT_MS = 60_000;
