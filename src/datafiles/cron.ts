/**
 * Validation of the 5-field cron expressions accepted by `IMPORT_SCHEDULE`
 * (an extension of SPEC R1.2). Pure.
 */
import { type Checked, ok, problem, quote } from './errors';

interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  // 0 and 7 are both Sunday.
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const FIELD_FORMS = '"*", N, N-M, a list N,M,... and /STEP after "*", N or N-M';

/**
 * Checks a cron expression of exactly five fields (minute, hour, day of month,
 * month, day of week). Each field is `*`, a number, a range `a-b`, any of those
 * with a step `/n`, or a comma list of them; months and week days may also be
 * written as three-letter English names (`JAN`, `MON`). Returns the expression
 * with runs of whitespace collapsed to one space.
 */
export function checkCron(expression: string): Checked<string> {
  const fields = expression
    .trim()
    .split(/\s+/)
    .filter((f) => f !== '');
  if (fields.length !== 5) {
    return problem(
      'Invalid cron expression',
      `${fields.length} field${fields.length === 1 ? '' : 's'} in ${quote(expression)}`,
      '5 fields: minute hour day-of-month month day-of-week',
    );
  }
  for (let f = 0; f < 5; f++) {
    const r = checkField(fields[f] as string, FIELDS[f] as CronField);
    if (!r.ok) return r;
  }
  return ok(fields.join(' '));
}

function checkField(text: string, field: CronField): Checked<string> {
  const range = `${field.min}-${field.max}`;
  const bad = (found: string, expected: string): Checked<string> =>
    problem(`Invalid cron ${field.name} field`, found, expected);
  for (const item of text.split(',')) {
    if (item === '') return bad(quote(text), `${FIELD_FORMS} (no empty list items)`);
    const [base, step, extra] = item.split('/');
    if (extra !== undefined) return bad(quote(item), 'at most one /STEP');
    if (step !== undefined) {
      if (!/^[0-9]+$/.test(step) || Number(step) < 1) return bad(quote(item), 'a step of at least 1 after "/"');
    }
    if (base === '*') continue;
    const bounds = (base ?? '').split('-');
    if (bounds.length > 2) return bad(quote(item), FIELD_FORMS);
    const values: number[] = [];
    for (const b of bounds) {
      const v = valueOf(b, field);
      if (v === undefined)
        return bad(quote(b), `a number in ${range}${field.names ? ` or a name (${field.names.join(', ')})` : ''}`);
      if (v < field.min || v > field.max) return bad(quote(b), `a number in ${range}`);
      values.push(v);
    }
    if (values.length === 2 && (values[0] as number) > (values[1] as number)) {
      return bad(quote(item), 'a range whose start is not after its end');
    }
  }
  return ok(text);
}

function valueOf(text: string, field: CronField): number | undefined {
  if (/^[0-9]+$/.test(text)) return Number(text);
  const idx = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (idx < 0) return undefined;
  return field.min === 1 ? idx + 1 : idx;
}
