/**
 * `{{ tb_secret("NAME") }}` and `{{ tb_secret("NAME", "default") }}` references
 * in datafile values (SPEC R1.1). Pure: the caller supplies the lookup.
 *
 * No function here ever puts a secret's value into an error message.
 */
import { DatafileError, type Where, quote } from './errors';

/** Rule for secret names (also enforced by the secret store). */
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Finds the value of a secret by name, or undefined when it is not set. */
export type SecretLookup = (name: string) => string | undefined;

/** One `tb_secret` reference found in a value. */
export interface SecretReference {
  /** The reference exactly as written, e.g. `{{ tb_secret("ARN") }}`. */
  text: string;
  name: string;
  /** The default given as second argument, if any. */
  defaultValue?: string;
  /** Offset of the reference in the raw value. */
  index: number;
}

const TEMPLATE = /\{\{([\s\S]*?)\}\}/g;
const TB_SECRET = /^\s*tb_secret\s*\(\s*(?:"([^"]*)"|'([^']*)')\s*(?:,\s*(?:"([^"]*)"|'([^']*)')\s*)?\)\s*$/;
const EXPECTED_REFERENCE = '{{ tb_secret("NAME") }} or {{ tb_secret("NAME", "default") }}';

/**
 * Lists the `tb_secret` references in a raw value.
 *
 * @throws DatafileError when a `{{ ... }}` template is not a well-formed
 *   `tb_secret` call, or a name breaks {@link SECRET_NAME_PATTERN}, or a `{{`
 *   is never closed.
 */
export function findSecretReferences(raw: string, where: Where): SecretReference[] {
  const refs: SecretReference[] = [];
  let lastEnd = 0;
  for (const m of raw.matchAll(TEMPLATE)) {
    const text = m[0];
    const index = m.index ?? 0;
    checkNoStrayBraces(raw.slice(lastEnd, index), where);
    lastEnd = index + text.length;
    const call = TB_SECRET.exec(m[1] ?? '');
    if (!call) {
      throw new DatafileError({
        ...where,
        what: 'Invalid secret reference',
        found: quote(text),
        expected: EXPECTED_REFERENCE,
      });
    }
    const name = call[1] ?? call[2] ?? '';
    if (!SECRET_NAME_PATTERN.test(name)) {
      throw new DatafileError({
        ...where,
        what: 'Invalid secret name',
        found: quote(name),
        expected: 'a name matching ^[A-Za-z_][A-Za-z0-9_]*$',
      });
    }
    const defaultValue = call[3] ?? call[4];
    refs.push(defaultValue === undefined ? { text, name, index } : { text, name, defaultValue, index });
  }
  checkNoStrayBraces(raw.slice(lastEnd), where);
  return refs;
}

function checkNoStrayBraces(segment: string, where: Where): void {
  const open = segment.indexOf('{{');
  if (open >= 0) {
    throw new DatafileError({
      ...where,
      what: 'Unterminated secret reference',
      found: quote(segment.slice(open)),
      expected: `${EXPECTED_REFERENCE} closed by "}}"`,
    });
  }
}

/** True when the raw value contains a `{{ ... }}` template. */
export function hasSecretReference(raw: string): boolean {
  return raw.includes('{{');
}

/**
 * Replaces every `tb_secret` reference in `raw` with the secret's value (from
 * `lookup`), or with its default when the secret is not set.
 *
 * @throws DatafileError naming the secret (never a value) when a secret is not
 *   set and has no default, or when a reference is malformed.
 */
export function resolveSecrets(raw: string, lookup: SecretLookup, where: Where): string {
  const refs = findSecretReferences(raw, where);
  if (refs.length === 0) return raw;
  let out = '';
  let last = 0;
  for (const ref of refs) {
    const value = lookup(ref.name) ?? ref.defaultValue;
    if (value === undefined) {
      throw new DatafileError({
        ...where,
        what: `Secret "${ref.name}" is not set`,
        found: quote(ref.text),
        expected: `a secret named ${ref.name} in the secret store (s3c secret set ${ref.name} VALUE) or the environment, or a default: {{ tb_secret("${ref.name}", "default") }}`,
      });
    }
    out += raw.slice(last, ref.index) + value;
    last = ref.index + ref.text.length;
  }
  return out + raw.slice(last);
}

/**
 * The display form of a raw value for the `found` part of an error: the value
 * as written when it holds no secret, otherwise the raw text with its
 * references (so a secret's value is never shown).
 */
export function displayValue(raw: string, resolved: string): string {
  return hasSecretReference(raw) ? `${quote(raw)} (value of a secret, not shown)` : quote(resolved);
}
