/**
 * A fault-injecting HTTP proxy on loopback, in front of MinIO (S3 and STS).
 *
 * It forwards every request unchanged (the Host header too, so SigV4
 * signatures made for the proxy's address still verify at MinIO) and can,
 * for requests that match a rule:
 * - answer an S3 XML error (503 SlowDown, 500 InternalError, 400 ExpiredToken …) N times;
 * - throttle a response body (bytes per chunk, delay between chunks);
 * - cut a response body mid-stream (headers and part of the body, then the socket is destroyed);
 * - refuse session tokens (as S3 does once temporary credentials expire).
 *
 * Every request is logged (method, path, query, the session token's presence,
 * and the body of STS calls), so tests can assert what the product sent.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProxiedRequest {
  method: string;
  /** Path, decoded (`/bucket/key with spaces.csv`). */
  path: string;
  /** Raw path and query as sent. */
  url: string;
  sessionToken?: string;
  /** Body of form-encoded requests (STS), else undefined. */
  form?: string;
  /** Status the client got (from the proxy or MinIO). */
  status?: number;
  /** What the proxy did: forwarded, error, cut, throttled. */
  action: string;
}

export type Match = (req: { method: string; path: string; url: string }) => boolean;

interface ErrorRule {
  kind: 'error';
  match: Match;
  remaining: number;
  status: number;
  code: string;
  message: string;
}
interface CutRule {
  kind: 'cut';
  match: Match;
  remaining: number;
  afterBytes: number;
}
interface ThrottleRule {
  kind: 'throttle';
  match: Match;
  remaining: number;
  chunkBytes: number;
  delayMs: number;
}
type Rule = ErrorRule | CutRule | ThrottleRule;

export interface FaultProxy {
  /** `http://127.0.0.1:port` */
  readonly endpoint: string;
  readonly log: ProxiedRequest[];
  /** Answers the next `count` matching requests with an S3 XML error. */
  failNext(count: number, error: { status: number; code: string; message?: string }, match?: Match): void;
  /** Cuts the body of the next `count` matching responses after `afterBytes` bytes. */
  cutNext(count: number, afterBytes: number, match?: Match): void;
  /** Streams the next `count` matching response bodies slowly. */
  throttleNext(count: number, options: { chunkBytes: number; delayMs: number }, match?: Match): void;
  /** Answers 400 ExpiredToken to every request signed with one of these session tokens. */
  expireSessionTokens(tokens: Iterable<string>): void;
  /** Destroys every open client connection (what a server crash does to the streams in flight). */
  breakConnections(): void;
  /** Number of rules still armed. */
  armed(): number;
  clearRules(): void;
  close(): Promise<void>;
}

/** Matches GETs of objects whose key contains `part` (not listings, not STS). */
export function objectGet(part: string): Match {
  return (r) =>
    r.method === 'GET' && !r.url.includes('list-type=') && !r.url.includes('uploads') && r.path.includes(part);
}

function s3Error(res: ServerResponse, status: number, code: string, message: string, path: string): void {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<Resource>${path.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Resource><RequestId>fault-proxy</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the proxy in front of `target` (`http://127.0.0.1:9000`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const rules: Rule[] = [];
  const expired = new Set<string>();
  const log: ProxiedRequest[] = [];

  const take = <K extends Rule['kind']>(
    kind: K,
    info: { method: string; path: string; url: string },
  ): Extract<Rule, { kind: K }> | undefined => {
    const rule = rules.find((r) => r.kind === kind && r.remaining > 0 && r.match(info));
    if (!rule) return undefined;
    rule.remaining--;
    if (rule.remaining === 0) rules.splice(rules.indexOf(rule), 1);
    return rule as Extract<Rule, { kind: K }>;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const rawPath = url.split('?')[0] ?? '/';
    let path = rawPath;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      /* keep raw */
    }
    const method = req.method ?? 'GET';
    const info = { method, path, url };
    const body = await readBody(req);
    const tokenHeader = req.headers['x-amz-security-token'];
    const sessionToken = typeof tokenHeader === 'string' ? tokenHeader : undefined;
    const isForm = String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded');
    const entry: ProxiedRequest = {
      method,
      path,
      url,
      sessionToken,
      form: isForm ? body.toString('utf8') : undefined,
      action: 'forwarded',
    };
    log.push(entry);

    if (sessionToken !== undefined && expired.has(sessionToken)) {
      entry.action = 'expired token';
      entry.status = 400;
      s3Error(res, 400, 'ExpiredToken', 'The provided token has expired.', path);
      return;
    }
    const error = take('error', info);
    if (error) {
      entry.action = `error ${error.code}`;
      entry.status = error.status;
      s3Error(res, error.status, error.code, error.message, path);
      return;
    }
    const cut = take('cut', info);
    const throttle = cut ? undefined : take('throttle', info);

    const upstream = httpRequest({
      host: targetUrl.hostname,
      port: targetUrl.port,
      method,
      path: url,
      headers: req.headers,
    });
    upstream.on('error', (err) => {
      // An error in the middle of a throttled or cut answer keeps what the proxy was doing.
      const what = `upstream error ${(err as NodeJS.ErrnoException).code ?? err.message}`;
      entry.action = entry.action === 'forwarded' ? what : `${entry.action}, ${what}`;
      res.destroy();
    });
    upstream.end(body);
    const answer = await new Promise<IncomingMessage | undefined>((resolve) => {
      upstream.once('response', resolve);
      upstream.once('error', () => resolve(undefined));
    });
    if (!answer) return;
    entry.status = answer.statusCode;
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    if (cut) {
      entry.action = `cut after ${cut.afterBytes} bytes`;
      let sent = 0;
      for await (const chunk of answer) {
        const buf = chunk as Buffer;
        const room = cut.afterBytes - sent;
        if (room > 0) {
          res.write(buf.subarray(0, room));
          sent += Math.min(room, buf.length);
        }
        if (sent >= cut.afterBytes) break;
      }
      // Let the partial body reach the client, then drop the connection.
      await sleep(50);
      answer.destroy();
      res.socket?.destroy();
      return;
    }
    if (throttle) {
      entry.action = `throttled ${throttle.chunkBytes}B/${throttle.delayMs}ms`;
      try {
        for await (const chunk of answer) {
          const buf = chunk as Buffer;
          for (let i = 0; i < buf.length; i += throttle.chunkBytes) {
            if (res.destroyed) return;
            res.write(buf.subarray(i, i + throttle.chunkBytes));
            await sleep(throttle.delayMs);
          }
        }
        // The upstream ended early (server stopped): cut the client's body too, never end it short.
        if (!answer.complete) {
          entry.action += ', upstream cut';
          res.socket?.destroy();
          return;
        }
        res.end();
      } catch {
        entry.action += ', upstream cut';
        res.destroy();
      }
      return;
    }
    answer.on('aborted', () => res.socket?.destroy());
    answer.on('error', () => res.socket?.destroy());
    answer.pipe(res);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const any: Match = () => true;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    failNext(count, error, match = any) {
      rules.push({
        kind: 'error',
        match,
        remaining: count,
        status: error.status,
        code: error.code,
        message: error.message ?? `${error.code} (injected)`,
      });
    },
    cutNext(count, afterBytes, match = any) {
      rules.push({ kind: 'cut', match, remaining: count, afterBytes });
    },
    throttleNext(count, options, match = any) {
      rules.push({ kind: 'throttle', match, remaining: count, ...options });
    },
    expireSessionTokens(tokens) {
      for (const t of tokens) expired.add(t);
    },
    breakConnections() {
      for (const socket of sockets) socket.destroy();
    },
    armed() {
      return rules.reduce((n, r) => n + r.remaining, 0);
    },
    clearRules() {
      rules.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
