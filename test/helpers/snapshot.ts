/**
 * Small helpers of the tests that check a command leaves the disk as it was
 * (`deploy --check`, a refused deploy), and that need an address where
 * nothing answers.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Every entry under `dir` (dot folders included) with its mode and the sha256 of its content. */
export function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = join(rel, name);
      const st = statSync(join(dir, path));
      const hash = st.isFile()
        ? createHash('sha256')
            .update(readFileSync(join(dir, path)))
            .digest('hex')
        : 'dir';
      out.push(`${path} ${(st.mode & 0o7777).toString(8)} ${hash}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

/** A loopback port nothing listens on (bound, then closed): S3 and STS calls to it fail at once. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
