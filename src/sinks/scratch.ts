/**
 * The sink's scratch folders (`<tmpdir>/s3c-sink-*`), which hold the
 * downloads while they load. A worker that crashes (SIGKILL, OOM, power)
 * leaves its folder behind with whatever it was downloading, hundreds of MB
 * at times (issue #18, item 11); the next worker start sweeps such folders.
 *
 * Each folder names its owner in a file, `owner.json` (pid and host): a
 * folder is removed only when its owner is of this host and no longer alive,
 * so a start never touches the folder of a worker still running beside it.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

/** Prefix of a sink's scratch folder under the temp folder. */
export const SCRATCH_PREFIX = 's3c-sink-';

const OWNER_FILE = 'owner.json';

/**
 * A folder without an owner file (made by a version before owner files, or
 * by a process that died between creating it and writing the file) is only
 * removed once untouched this long: a live one changes with every download.
 */
const UNOWNED_GRACE_MS = 60 * 60 * 1000;

interface Owner {
  pid: number;
  host: string;
}

/** Marks `dir` as this process's scratch folder. */
export function claimScratchDir(dir: string): void {
  const owner: Owner = { pid: process.pid, host: hostname() };
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
}

/** Whether a process `pid` exists (EPERM: it exists, as another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(dir: string): Owner | undefined {
  const file = join(dir, OWNER_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string'
      ? { pid: owner.pid, host: owner.host }
      : undefined;
  } catch {
    return undefined; // half-written: treated as unowned (the grace period protects a live one)
  }
}

/** Whether the scratch folder `dir` belongs to no live process. */
function orphaned(dir: string, now: number): boolean {
  const owner = readOwner(dir);
  if (owner) return owner.host === hostname() && owner.pid !== process.pid && !alive(owner.pid);
  try {
    return now - statSync(dir).mtimeMs > UNOWNED_GRACE_MS;
  } catch {
    return false;
  }
}

/**
 * Removes the scratch folders under `parent` (default: the temp folder) that
 * no live process owns; returns their paths. Never throws: a sweep that
 * fails leaves files, it does not stop a worker from starting.
 */
export function sweepOrphanedScratch(parent: string = tmpdir(), now = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(SCRATCH_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const dir = join(parent, name);
    if (!orphaned(dir, now)) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      /* another user's folder, or gone meanwhile */
    }
  }
  return removed;
}
