// The build's freshness check, shared by the launcher (bin/s3c.js) and the
// build (scripts/build.ts). Plain JavaScript: the launcher reads it before
// anything can compile TypeScript.
//
// The stamp is the list of every file the build reads (each file of src/, and
// the build script and this file, which decide what the build makes) with its
// size and mtime, written by the build into dist/ as its last step. dist/ is
// fresh when the list is unchanged: any edit, new, deleted or renamed file,
// even one given back an older mtime (a checkout, `cp -p`), makes it stale.
// The walk costs a few milliseconds (stat of ~200 files); hashing the file
// contents instead would read them all at every start.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The stamp's file, in the build folder. */
export const STAMP_FILE = '.src-stamp';

/** The files of the package that decide the build's output, besides src/: relative to the package folder. */
const BUILD_INPUTS = ['scripts/build.ts', 'bin/srcStamp.js'];

/** `path size mtime` of each file under `dir` (relative to `root`), folders first-to-last in name order. */
function listTree(root, dir, lines) {
  const entries = readdirSync(join(root, dir), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) listTree(root, path, lines);
    else lines.push(fileLine(root, path));
  }
  return lines;
}

function fileLine(root, path) {
  const { size, mtimeMs } = statSync(join(root, path));
  return `${path} ${size} ${mtimeMs}`;
}

/** What the build of the package folder `root` is made from, one line per file. */
export function sourceStamp(root) {
  return [...listTree(root, 'src', []), ...BUILD_INPUTS.map((path) => fileLine(root, path))].join('\n') + '\n';
}

/** Whether `distDir` holds a build of exactly the current sources of `root` (false when there is none). */
export function buildIsFresh(root, distDir) {
  let stamp;
  try {
    stamp = readFileSync(join(distDir, STAMP_FILE), 'utf8');
  } catch {
    return false;
  }
  return stamp === sourceStamp(root);
}
