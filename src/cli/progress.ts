/**
 * What the CLI shows while it waits for a job (`datasource sync`,
 * `datasource sample --wait`): the job's counts on one line rewritten in
 * place on a terminal, and a plain line per change otherwise (logs, pipes).
 */
import type { Client } from '@temporalio/client';
import { jobReport } from '../client/dataSources';
import type { DataSourceState, JobStatistics } from '../contract';

/**
 * `progress: 3 files found, 1 done, 0 failed; 120 rows loaded, 2 quarantined`
 * (worded apart from the final report's `files: ...` line, so the two are not mistaken).
 */
export function progressText(s: JobStatistics): string {
  return `progress: ${s.found_files} files found, ${s.files_done} done, ${s.files_failed} failed; ${s.row_count} rows loaded, ${s.quarantined_rows} quarantined`;
}

/** The part of a stream a progress line needs (process.stdout, or a test's). */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** One progress line: repeats of the same text are not written again. */
export class ProgressLine {
  private last: string | undefined;

  constructor(private readonly out: ProgressStream = process.stdout) {}

  /** Shows `text`: on a TTY it replaces the line (carriage return, erase line), else it is a new line. */
  update(text: string): void {
    if (text === this.last) return;
    this.last = text;
    this.out.write(this.out.isTTY ? `\r\x1b[2K${text}` : `${text}\n`);
  }

  /** Ends the line on a TTY, so that what follows starts on a line of its own. */
  end(): void {
    if (this.out.isTTY && this.last !== undefined) this.out.write('\n');
    this.last = undefined;
  }
}

/**
 * Shows the progress of the job a data source runs, if any (its live
 * report); a job that cannot be read yet shows nothing new.
 */
export async function showSyncProgress(line: ProgressLine, client: Client, state: DataSourceState): Promise<void> {
  if (!state.currentJobId) return;
  const report = await jobReport(client, state.currentJobId).catch(() => undefined);
  if (report) line.update(progressText(report.statistics));
}
