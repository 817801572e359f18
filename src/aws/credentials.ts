/**
 * S3 clients per connection, with the credentials of R7.3:
 *
 * - static keys (`S3_ACCESS_KEY`/`S3_SECRET`, local use and S3-compatible stores);
 * - an IAM role (`S3_ARN`) assumed with the connection's external id, starting
 *   from the machine's credentials (default provider chain, `AWS_PROFILE`).
 *   Temporary credentials are cached per worker and refreshed before expiry.
 *
 * Credentials never leave this module: activities return data, not clients,
 * so nothing secret reaches workflow history, logs or errors.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { ConnectionDef } from '../datafiles/types';
import { S3cError } from '../util/errors';

// The pinned SDK works on Node 20; its notice that later releases need Node 22 is for us, not for every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Refresh temporary credentials this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

/** Raised when the role cannot be assumed; the message says what to check, never a key. */
export class AssumeRoleError extends S3cError {
  readonly type = 'AssumeRoleError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message, { terminal: !retryable });
  }
}

export interface CredentialOptions {
  /** Returns the external id for a connection (R7.2). */
  externalId: (connectionName: string) => string;
  /** Base credentials for AssumeRole; default: the SDK's provider chain. */
  baseCredentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Session name shown in CloudTrail. */
  sessionName?: string;
}

function cacheKey(conn: ConnectionDef): string {
  // Includes the key id but not the secret: rotating the secret without the id
  // is rare, and the cache lives only as long as the worker.
  return JSON.stringify([conn.name, conn.region, conn.endpoint ?? '', conn.roleArn ?? '', conn.accessKey ?? '']);
}

/**
 * A role's credentials provider with its own cache. It is marked `memoized`,
 * so the AWS SDK calls it for every request instead of keeping the identity
 * until shortly before its expiration: that lets `invalidate()` take effect
 * when S3 refuses a session token earlier than its stated expiry (revoked
 * session, clock skew), instead of every retry signing with the dead token.
 */
export interface RoleCredentialProvider extends AwsCredentialIdentityProvider {
  readonly memoized: true;
  /** Drops the cached credentials: the next call assumes the role again. */
  invalidate(): void;
}

/** Error names with which S3 and STS refuse temporary credentials that are expired or revoked. */
export const SESSION_TOKEN_ERRORS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidToken',
  'InvalidTokenId',
  'TokenRefreshRequired',
]);

/**
 * A role's credentials provider: assumes the role with the external id and
 * caches the result until shortly before it expires (`now` is for tests).
 */
export function assumeRoleProvider(
  conn: ConnectionDef,
  options: CredentialOptions & { now?: () => number; sts?: Pick<STSClient, 'send'> },
): RoleCredentialProvider {
  const roleArn = conn.roleArn;
  if (!roleArn) throw new Error(`connection ${conn.name} has no S3_ARN`);
  const now = options.now ?? Date.now;
  const sts =
    options.sts ??
    new STSClient({
      region: conn.region,
      ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
      ...(options.baseCredentials ? { credentials: options.baseCredentials } : {}),
    });
  let cached: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const fresh = (): boolean =>
    cached !== undefined &&
    (cached.expiration === undefined || cached.expiration.getTime() - now() > REFRESH_MARGIN_MS);
  const provider = async (): Promise<AwsCredentialIdentity> => {
    if (fresh() && cached) return cached;
    pending ??= (async () => {
      try {
        const out = await sts.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: options.sessionName ?? 's3-connector',
            ExternalId: options.externalId(conn.name),
            DurationSeconds: 3600,
          }),
        );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) {
          throw new AssumeRoleError(
            `AssumeRole of ${roleArn} for connection ${conn.name} returned no credentials`,
            true,
          );
        }
        cached = {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken,
          expiration: c.Expiration,
        };
        return cached;
      } catch (err) {
        if (err instanceof AssumeRoleError) throw err;
        const name = (err as { name?: string }).name ?? 'Error';
        const denied = name === 'AccessDenied' || name === 'AccessDeniedException' || name === 'InvalidClientTokenId';
        throw new AssumeRoleError(
          denied
            ? `cannot assume role ${roleArn} for connection ${conn.name}: access denied (${name}). ` +
                `Check the role's trust policy: it must allow sts:AssumeRole for this account with the external id ` +
                `that \`s3c connection create s3\` printed`
            : `cannot assume role ${roleArn} for connection ${conn.name}: ${name}`,
          !denied,
        );
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
  return Object.assign(provider, {
    memoized: true as const,
    invalidate() {
      cached = undefined;
    },
  });
}

/**
 * Whether a role can be assumed WITHOUT the connection's external id. A trust
 * policy that does not require `sts:ExternalId` lets anyone who learns the
 * role ARN use it through this product (the confused-deputy problem), so
 * deploy refuses such a role. Returns false when AWS refuses the call.
 *
 * @throws the STS error when it is not a refusal (network, throttling).
 */
export async function roleAssumableWithoutExternalId(
  conn: ConnectionDef,
  baseCredentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider,
  sts: STSClient = new STSClient({
    region: conn.region,
    ...(baseCredentials ? { credentials: baseCredentials } : {}),
    maxAttempts: 2,
  }),
): Promise<boolean> {
  if (!conn.roleArn) return false;
  try {
    await sts.send(
      new AssumeRoleCommand({
        RoleArn: conn.roleArn,
        RoleSessionName: 's3-connector-external-id-check',
        DurationSeconds: 900,
      }),
    );
    return true;
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    if (name === 'AccessDenied' || name === 'AccessDeniedException') return false;
    throw err;
  }
}

/**
 * Sets `command` (e.g. `CreateQueueCommand`) on the errors of a client's
 * calls, so that an AccessDenied can be told with the IAM action it lacks
 * (src/aws/policies.ts `ACTION_OF_EVENT_COMMAND`); AWS's own message does not
 * always name it.
 */
function nameCommandInErrors(client: AwsClient): void {
  (client.middlewareStack as S3Client['middlewareStack']).add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (err instanceof Error && context.commandName) Object.assign(err, { command: context.commandName });
        throw err;
      }
    },
    { step: 'initialize', name: 's3cNameCommandInErrors' },
  );
}

/** A connection's credentials: the role's provider (when it has S3_ARN), else static keys or the base credentials. */
interface ConnectionCredentials {
  role?: RoleCredentialProvider;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

/** Any AWS SDK v3 client: what the session-token middleware needs. */
type AwsClient = S3Client | EventBridgeClient | SQSClient;

/**
 * Builds and caches one S3, EventBridge and SQS client per connection; the
 * three share the connection's credentials (one role provider, so one
 * AssumeRole serves them all) and its endpoint (`S3_ENDPOINT`: MinIO, or the
 * emulator moto in tests of the queue intake).
 */
export class S3ClientCache {
  private readonly clients = new Map<string, S3Client>();
  private readonly eventBridgeClients = new Map<string, EventBridgeClient>();
  private readonly sqsClients = new Map<string, SQSClient>();
  private readonly credentialsByKey = new Map<string, ConnectionCredentials>();

  constructor(private readonly options: CredentialOptions) {}

  /** See {@link roleAssumableWithoutExternalId}; uses this cache's base credentials (or the static keys). */
  roleAssumableWithoutExternalId(conn: ConnectionDef): Promise<boolean> {
    const staticKeys =
      conn.accessKey && conn.secretKey ? { accessKeyId: conn.accessKey, secretAccessKey: conn.secretKey } : undefined;
    return roleAssumableWithoutExternalId(conn, staticKeys ?? this.options.baseCredentials);
  }

  private credentialsFor(conn: ConnectionDef): ConnectionCredentials {
    const key = cacheKey(conn);
    let found = this.credentialsByKey.get(key);
    if (!found) {
      const staticKeys: AwsCredentialIdentity | undefined =
        conn.accessKey && conn.secretKey ? { accessKeyId: conn.accessKey, secretAccessKey: conn.secretKey } : undefined;
      // With S3_ARN, the role is always assumed (with the external id); static
      // keys, when given too, are the base credentials that assume it (R1.1).
      const role = conn.roleArn
        ? assumeRoleProvider(conn, staticKeys ? { ...this.options, baseCredentials: staticKeys } : this.options)
        : undefined;
      found = { role, credentials: role ?? staticKeys ?? this.options.baseCredentials };
      this.credentialsByKey.set(key, found);
    }
    return found;
  }

  /** The options every client of the connection is built with. */
  private clientConfig(conn: ConnectionDef) {
    const { credentials } = this.credentialsFor(conn);
    return {
      region: conn.region,
      ...(conn.endpoint ? { endpoint: conn.endpoint } : {}),
      ...(credentials ? { credentials } : {}),
      // Our activities retry with Temporal's policy; keep the SDK's own retries short.
      maxAttempts: 3,
    };
  }

  /** A refused session token is dropped, and the call signed again once with fresh credentials. */
  private refreshRefusedTokens(conn: ConnectionDef, client: AwsClient): void {
    const role = this.credentialsFor(conn).role;
    if (!role) return;
    (client.middlewareStack as S3Client['middlewareStack']).add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (err) {
          if (!SESSION_TOKEN_ERRORS.has((err as { name?: string }).name ?? '')) throw err;
          role.invalidate();
          return next(args);
        }
      },
      { step: 'initialize', name: 's3cRefreshRefusedSessionToken' },
    );
  }

  private cached<C extends AwsClient>(cache: Map<string, C>, conn: ConnectionDef, make: () => C): C {
    const key = cacheKey(conn);
    let client = cache.get(key);
    if (!client) {
      client = make();
      this.refreshRefusedTokens(conn, client);
      nameCommandInErrors(client);
      cache.set(key, client);
    }
    return client;
  }

  /** The S3 client for a connection; roles are assumed lazily, on first use. */
  clientFor(conn: ConnectionDef): S3Client {
    return this.cached(
      this.clients,
      conn,
      () => new S3Client({ ...this.clientConfig(conn), ...(conn.endpoint ? { forcePathStyle: true } : {}) }),
    );
  }

  /** The EventBridge client of a connection: the bucket owner's account (the role), for the queue intake's rules. */
  eventBridgeFor(conn: ConnectionDef): EventBridgeClient {
    return this.cached(this.eventBridgeClients, conn, () => new EventBridgeClient(this.clientConfig(conn)));
  }

  /** The SQS client of a connection: the queue intake's queues live in the bucket owner's account. */
  sqsFor(conn: ConnectionDef): SQSClient {
    return this.cached(this.sqsClients, conn, () => new SQSClient(this.clientConfig(conn)));
  }

  /** Closes every client (sockets), e.g. at worker shutdown. */
  destroy(): void {
    for (const cache of [this.clients, this.eventBridgeClients, this.sqsClients] as Map<string, AwsClient>[]) {
      for (const client of cache.values()) client.destroy();
      cache.clear();
    }
    this.credentialsByKey.clear();
  }
}
