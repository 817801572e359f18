/**
 * A tiny client of MinIO's admin API, enough to create a user whose policy
 * lacks an action: a real AccessDenied from the real server, no mock. There
 * is no `mc` in .tools and no admin client on npm, so this signs its own
 * requests (SigV4, service `s3`) and encrypts the one body that MinIO wants
 * encrypted (add-user) the way madmin does.
 */
import { createCipheriv, createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export interface AdminCredentials {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region?: string;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding, as SigV4 wants it for query strings. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The headers that sign one request with SigV4 (service `s3`). */
function signedHeaders(creds: AdminCredentials, method: string, url: URL, body: Buffer): Record<string, string> {
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const region = creds.region ?? 'us-east-1';
  const payloadHash = sha256(body);
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': amzDate,
  };
  const names = Object.keys(headers).sort();
  const query = [...url.searchParams]
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .sort()
    .join('&');
  const canonical = [
    method,
    url.pathname,
    query,
    ...names.map((n) => `${n}:${headers[n]}`),
    '',
    names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = ['s3', 'aws4_request'].reduce(
    (k, part) => hmac(k, part),
    hmac(hmac(`AWS4${creds.secretKey}`, day), region),
  );
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

/**
 * madmin's EncryptData with its PBKDF2 + AES-256-GCM variant (id 0x02, which
 * every MinIO server decrypts; Node has no Argon2id): salt | id | nonce |
 * one sio fragment. sio authenticates a first-nonce tag as associated data
 * and marks the final fragment with 0x80 (secure-io/sio-go writer.go).
 */
export function encryptForMinio(password: string, plaintext: Buffer): Buffer {
  if (plaintext.length > 16 * 1024) throw new Error('encryptForMinio: one sio fragment (16 KiB) at most');
  const salt = randomBytes(32);
  const key = pbkdf2Sync(password, salt, 8192, 32, 'sha256');
  const nonce = randomBytes(8);
  const nonceAt = (seq: number): Buffer => {
    const n = Buffer.alloc(12);
    nonce.copy(n);
    n.writeUInt32LE(seq, 8);
    return n;
  };
  const seal = (seq: number, data: Buffer, aad: Buffer): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', key, nonceAt(seq));
    cipher.setAAD(aad);
    return Buffer.concat([cipher.update(data), cipher.final(), cipher.getAuthTag()]);
  };
  const adTag = seal(0, Buffer.alloc(0), Buffer.alloc(0));
  const fragment = seal(1, plaintext, Buffer.concat([Buffer.from([0x80]), adTag]));
  return Buffer.concat([salt, Buffer.from([0x02]), nonce, fragment]);
}

async function adminCall(
  creds: AdminCredentials,
  method: string,
  path: string,
  query: Record<string, string>,
  body: Buffer = Buffer.alloc(0),
): Promise<void> {
  const url = new URL(`/minio/admin/v3/${path}`, creds.endpoint);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const response = await fetch(url, {
    method,
    headers: signedHeaders(creds, method, url, body),
    body: body.length > 0 ? body : undefined,
  });
  if (!response.ok) throw new Error(`MinIO admin ${path}: HTTP ${response.status} ${await response.text()}`);
}

/** Creates (or replaces) a canned policy named `name`. */
export async function addPolicy(creds: AdminCredentials, name: string, policy: object): Promise<void> {
  await adminCall(creds, 'PUT', 'add-canned-policy', { name }, Buffer.from(JSON.stringify(policy)));
}

/** Creates (or updates) an enabled user with `secretKey` and attaches the canned policy `policyName`. */
export async function addUserWithPolicy(
  creds: AdminCredentials,
  user: { accessKey: string; secretKey: string },
  policyName: string,
): Promise<void> {
  const body = encryptForMinio(
    creds.secretKey,
    Buffer.from(JSON.stringify({ secretKey: user.secretKey, status: 'enabled' })),
  );
  await adminCall(creds, 'PUT', 'add-user', { accessKey: user.accessKey }, body);
  await adminCall(creds, 'PUT', 'set-user-or-group-policy', {
    policyName,
    userOrGroup: user.accessKey,
    isGroup: 'false',
  });
}
