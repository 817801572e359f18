/**
 * The AWS emulator moto in server mode, for the tests of the AWS event path
 * (issue 22): one server per test file on a random loopback port, started
 * and stopped like MinIO and Temporal (own process group, watchdog, stop by
 * PID). All services share the one endpoint; moto takes any access key.
 *
 * The product's AWS clients reach it through the connection's `S3_ENDPOINT`
 * (S3 and STS, see src/aws/credentials.ts); EventBridge and SQS clients take
 * the same URL as `endpoint`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { defaultSecretsFile, SecretStore } from '../../src/datafiles';
import { listensOn, spawnManaged, startOnFreePorts, freePort, type ManagedProcess } from '../../src/local/processes';
import { motoPython } from '../../scripts/setup/moto';

/** moto's default account: resources it creates carry it in their ARNs. */
export const MOTO_ACCOUNT = '123456789012';
export const MOTO_REGION = 'us-east-1';
/** The bucket owner's (customer's) account of the queue intake tests, and the role the connection assumes there. */
export const MOTO_OWNER_ACCOUNT = '111122223333';
export const MOTO_OWNER_ROLE_ARN = `arn:aws:iam::${MOTO_OWNER_ACCOUNT}:role/s3c-access`;

export interface MotoServer extends ManagedProcess {
  /** `http://127.0.0.1:<port>`: the endpoint of every AWS service. */
  readonly endpoint: string;
  readonly port: number;
  /** Forgets every resource (moto's `/moto-api/reset`), for a fresh state between tests. */
  reset(): Promise<void>;
}

/** Any key works on moto; these are the machine's "base" credentials that assume roles. */
export const motoBaseCredentials = { accessKeyId: 'AKIAMOTOBASE0000TEST', secretAccessKey: 'moto-base-secret' };

/** Starts moto on a free loopback port with its log in `stateDir/moto.log`. */
export async function startMoto(options: { stateDir: string }): Promise<MotoServer> {
  if (!existsSync(motoPython))
    throw new Error(`moto is not installed yet (${motoPython} is missing): run \`npm run setup\` first`);
  mkdirSync(options.stateDir, { recursive: true });
  const logFile = join(options.stateDir, 'moto.log');
  return startOnFreePorts('moto', logFile, false, 60_000, async () => {
    const port = await freePort();
    // `python -m moto.server`, not the venv's moto_server script: the script's #! names the path the venv
    // was made at, and a venv copied or made in another worktree (.tools is shared) would not start.
    const args = ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)];
    const proc = spawnManaged('moto', motoPython, args, { logFile });
    const endpoint = `http://127.0.0.1:${port}`;
    return {
      proc,
      // The pid check makes sure it is our server that answers, not another one on a port taken in between.
      ready: async () =>
        (await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) })).ok &&
        listensOn(proc.pid, port),
      server: (p) =>
        Object.assign(p, { endpoint, port, reset: () => resetMoto(endpoint), stop: p.stop, exited: p.exited }),
    };
  });
}

async function resetMoto(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset: HTTP ${res.status}`);
}

/** Clients of the services the event path uses, all on moto's endpoint with `credentials`. */
export interface MotoClients {
  s3: S3Client;
  eb: EventBridgeClient;
  sqs: SQSClient;
  destroy(): void;
}

/** S3 (path style, as for every S3_ENDPOINT), EventBridge and SQS clients on moto. */
export function motoClients(
  moto: Pick<MotoServer, 'endpoint'>,
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider,
): MotoClients {
  const common = { region: MOTO_REGION, endpoint: moto.endpoint, credentials, maxAttempts: 2 };
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const eb = new EventBridgeClient(common);
  const sqs = new SQSClient(common);
  return { s3, eb, sqs, destroy: () => [s3, eb, sqs].forEach((c) => c.destroy()) };
}

/** Clients acting in the account of `roleArn`: the role assumed on moto with the base credentials (moto needs no IAM role). */
export async function motoRoleClients(moto: Pick<MotoServer, 'endpoint'>, roleArn: string): Promise<MotoClients> {
  const sts = new STSClient({ region: MOTO_REGION, endpoint: moto.endpoint, credentials: motoBaseCredentials });
  try {
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 's3c-test' }))).Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey)
      throw new Error(`moto: AssumeRole of ${roleArn} returned no credentials`);
    return motoClients(moto, {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    });
  } finally {
    sts.destroy();
  }
}

/** A `.connection` to moto whose keys (the machine's) assume the owner's role; its values are secrets (see {@link storeMotoSecrets}). */
export function motoConnection(): string {
  return [
    'TYPE s3',
    `S3_REGION "${MOTO_REGION}"`,
    'S3_ENDPOINT {{ tb_secret("MOTO_ENDPOINT") }}',
    'S3_ARN {{ tb_secret("MOTO_ROLE_ARN") }}',
    'S3_ACCESS_KEY {{ tb_secret("MOTO_ACCESS_KEY") }}',
    'S3_SECRET {{ tb_secret("MOTO_SECRET") }}',
    '',
  ].join('\n');
}

/** Stores the secrets {@link motoConnection} names in the project's store: moto's endpoint, the owner's role, the base keys. */
export function storeMotoSecrets(projectDir: string, moto: Pick<MotoServer, 'endpoint'>): void {
  const secrets = new SecretStore(defaultSecretsFile(projectDir));
  secrets.set('MOTO_ENDPOINT', moto.endpoint);
  secrets.set('MOTO_ROLE_ARN', MOTO_OWNER_ROLE_ARN);
  secrets.set('MOTO_ACCESS_KEY', motoBaseCredentials.accessKeyId);
  secrets.set('MOTO_SECRET', motoBaseCredentials.secretAccessKey);
}
