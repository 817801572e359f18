/**
 * The datafile snippets of the documentation (README.md, docs/*.md, the
 * examples): read by the test that keeps them parsing (issue #19, item 11)
 * and used as seeds by the datafile fuzz test (issue #18).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONNECTION_KEYWORDS, DATASOURCE_KEYWORDS } from '../../src/datafiles';

/** One fenced block of a Markdown file that is (part of) a datafile. */
export interface DocSnippet {
  /** `README.md:63` — the file and line of the opening fence. */
  where: string;
  kind: 'connection' | 'datasource';
  /** The name its first comment gives (`# events.datasource` gives `events`), if any. */
  name?: string;
  text: string;
  /** True when it holds only some settings of a file (no SCHEMA, no TYPE). */
  fragment: boolean;
}

const REPO = join(import.meta.dirname, '..', '..');
const FENCE = /^```(\S*)\s*$/;
const KEYWORD_LINE = /^([A-Za-z_][A-Za-z0-9_]*)(?:[ \t]|$)/;
const CONNECTION_ONLY = new Set<string>(CONNECTION_KEYWORDS);
const ALL_KEYWORDS = new Set<string>([...CONNECTION_KEYWORDS, ...DATASOURCE_KEYWORDS]);

/** The Markdown files whose snippets must parse, relative to the repository. */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

/**
 * Every fenced block of `file` that reads as a datafile: untagged (or `tb`)
 * blocks whose lines, comments and indented lines aside, all start with a
 * datafile keyword. Shell and YAML blocks are tagged and so never taken.
 */
export function datafileSnippets(file: string): DocSnippet[] {
  const lines = readFileSync(join(REPO, file), 'utf8').split('\n');
  const out: DocSnippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] as string); i++) body.push(lines[i] as string);
    if (open[1] !== '' && open[1] !== 'tb') continue;
    const snippet = asDatafile(body, `${file}:${start + 1}`);
    if (snippet) out.push(snippet);
  }
  return out;
}

function asDatafile(body: string[], where: string): DocSnippet | undefined {
  const statements = body.filter((l) => l.trim() !== '' && !l.startsWith('#') && !/^[ \t]/.test(l));
  const keywords = statements.map((l) => KEYWORD_LINE.exec(l)?.[1]?.toUpperCase());
  if (statements.length === 0 || !keywords.every((k) => k !== undefined && ALL_KEYWORDS.has(k))) return undefined;
  const kind = keywords.some((k) => CONNECTION_ONLY.has(k as string)) ? 'connection' : 'datasource';
  const named = /^#\s*([A-Za-z0-9_.-]+)\.(connection|datasource)\s*$/.exec(body[0] ?? '');
  const fragment = kind === 'connection' ? !keywords.includes('TYPE') : !keywords.includes('SCHEMA');
  return { where, kind, text: `${body.join('\n')}\n`, fragment, ...(named ? { name: named[1] as string } : {}) };
}

/** The datafiles of `examples/`, as `[relative path, text]`. */
export function exampleDatafiles(): [string, string][] {
  const out: [string, string][] = [];
  for (const project of readdirSync(join(REPO, 'examples')).sort()) {
    for (const f of readdirSync(join(REPO, 'examples', project)).sort()) {
      if (f.endsWith('.connection') || f.endsWith('.datasource'))
        out.push([`examples/${project}/${f}`, readFileSync(join(REPO, 'examples', project, f), 'utf8')]);
    }
  }
  return out;
}
