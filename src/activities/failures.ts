/**
 * The one place where an activity's errors become Temporal failures: a
 * terminal error (see util/errors.ts) fails the activity for good, as a
 * non-retryable `ApplicationFailure` whose message says why and whose type
 * names the reason; any other error is retried by Temporal. Workflows read
 * only `nonRetryable` and the message (workflows/job.ts).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { TerminalError, isTerminal } from '../util/errors';

/**
 * An activity's own reason to fail for good, with the failure type the Web UI
 * and the history show (`ObjectGone`, `FileTooLarge`, `AccessDenied`, ...).
 */
export class TerminalFailure extends TerminalError {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
  }
}

/**
 * What an activity throws for `err`: a non-retryable `ApplicationFailure`
 * for a terminal error (typed by the error's `type`, else its class name),
 * `err` itself otherwise.
 */
export function activityFailure(err: unknown): unknown {
  if (!isTerminal(err)) return err;
  const { message, name, type } = err as Error & { type?: unknown };
  return ApplicationFailure.nonRetryable(message, typeof type === 'string' ? type : name);
}

/** Any activity function: Temporal calls it by its key in the activities object. */
type ActivityFunction = (...args: never[]) => Promise<unknown>;

/** The same activities, under the same names, each throwing what {@link activityFailure} makes of its errors. */
export function convertingFailures<T extends Record<string, ActivityFunction>>(activities: T): T {
  const converted: Record<string, ActivityFunction> = {};
  for (const [name, activity] of Object.entries(activities)) {
    converted[name] = async (...args) => {
      try {
        return await activity(...args);
      } catch (err) {
        throw activityFailure(err);
      }
    };
  }
  return converted as T;
}
