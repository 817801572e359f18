/** Checking request input with zod: every failure is a 400 naming each path. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError } from './errors';

/** Turns zod issues into one message naming each path. */
function zodMessage(error: z.ZodError, where: string): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : where;
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

export function validate<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError(400, `invalid ${where}: ${zodMessage(result.error, where)}`);
  return result.data;
}

/** Reads a JSON body; an empty body is `{}`. */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'the request body is not valid JSON');
  }
}

/** What a data source's name may be, in a path or a query. */
export const DATA_SOURCE_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
