/** A DuckDB connection with a deadline, so that a sample that reads slowly ends the inference, not the CLI. */
import type { DuckDBConnection } from '@duckdb/node-api';
import { InferenceError } from './model';

/** A DuckDB connection whose statements give up at a deadline (interrupted) and say so. */
export class BoundedConnection {
  private timedOut = false;
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly deadline: number,
    private readonly why: () => string,
  ) {}

  async run<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const left = this.deadline - Date.now();
    if (left <= 0) throw new InferenceError(this.why());
    const timer = setTimeout(() => {
      this.timedOut = true;
      this.conn.interrupt();
    }, left);
    try {
      return await fn(this.conn);
    } catch (err) {
      if (this.timedOut) throw new InferenceError(this.why());
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
