/**
 * Helpers shared by the guided CLI flows (`connection create`,
 * `datasource create`): the prompt functions they are given, asking until an
 * answer is valid, and printing blocks.
 */
import { confirm, input, select } from '@inquirer/prompts';

/** The prompt functions the guided flows need; the shapes of `@inquirer/prompts` v7. Tests script them. */
export interface ConnectionPrompts {
  /** Asks for a line of text; `validate` returns true or the message to show before asking again. */
  input(config: {
    message: string;
    default?: string;
    validate?: (value: string) => boolean | string | Promise<boolean | string>;
  }): Promise<string>;
  /** Asks to choose one of `choices`; resolves to the chosen `value`. */
  select<Value>(config: {
    message: string;
    choices: readonly { value: Value; name?: string; description?: string }[];
    default?: unknown;
  }): Promise<Value>;
  /** Asks a yes/no question. */
  confirm(config: { message: string; default?: boolean }): Promise<boolean>;
}

/** The real, interactive prompts of `@inquirer/prompts`. */
export const inquirerPrompts: ConnectionPrompts = { input, select, confirm };

/** How often a scripted (non-validating) prompt may give a bad answer before the flow gives up. */
export const MAX_ATTEMPTS = 3;

/**
 * Asks until `check` accepts the (normalised) answer. The prompt's own
 * `validate` shows the problem interactively; a prompt that ignores it gets
 * the problem printed and is asked again, at most {@link MAX_ATTEMPTS} times.
 *
 * @throws Error with the last problem after {@link MAX_ATTEMPTS} bad answers.
 */
export async function ask(
  prompts: Pick<ConnectionPrompts, 'input'>,
  out: (line: string) => void,
  message: string,
  check: (value: string) => string | undefined,
  options: { normalize?: (answer: string) => string; defaultValue?: string } = {},
): Promise<string> {
  const normalize = options.normalize ?? ((a: string) => a.trim());
  let problem = '';
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const answer = await prompts.input({
      message,
      ...(options.defaultValue !== undefined ? { default: options.defaultValue } : {}),
      validate: (v) => check(normalize(v)) ?? true,
    });
    const value = normalize(answer);
    const p = check(value);
    if (p === undefined) return value;
    problem = p;
    out(`✗ ${p}`);
  }
  throw new Error(`${problem} (no valid answer after ${MAX_ATTEMPTS} attempts)`);
}

/** Prints a multi-line text, one `out` call per line, with an indent. */
export function printBlock(out: (line: string) => void, text: string, indent = ''): void {
  for (const line of text.replace(/\n$/, '').split('\n')) out(`${indent}${line}`);
}
