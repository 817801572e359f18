/**
 * The AWS IAM policies a user creates for an S3 connection (SPEC R7.2): the
 * access policy attached to the role, and the trust policy that lets the
 * product's account (Cloud) or the machine's account (Local) assume the role
 * with the connection's external id. Pure: no I/O.
 */

/** IAM policy language version used by every policy here. */
export const POLICY_VERSION = '2012-10-17' as const;

/** The reference's actions on a bucket and its objects ("AWS permissions"). */
export const REFERENCE_INGEST_ACTIONS = [
  's3:GetObject',
  's3:ListBucket',
  's3:GetBucketNotification',
  's3:PutBucketNotification',
  's3:GetBucketLocation',
] as const;

/**
 * Actions the product uses beyond the reference's: listing the multipart
 * uploads in progress keeps the sync point behind them (the upload race,
 * R5.4); without it an upload open past the look-back window is only found
 * by listing everything again (see README "Access policy").
 */
export const PRODUCT_EXTRA_ACTIONS = ['s3:ListBucketMultipartUploads'] as const;

/** Every action the S3 connector uses on a bucket and its objects: what the printed policy grants. */
export const INGEST_ACTIONS = [...REFERENCE_INGEST_ACTIONS, ...PRODUCT_EXTRA_ACTIONS] as const;

/**
 * The IAM action each S3 call of the product needs (a test checks that every
 * command in src/ is here, and that the printed policy grants each action).
 */
export const ACTION_OF_S3_COMMAND: Record<string, (typeof INGEST_ACTIONS)[number]> = {
  GetObjectCommand: 's3:GetObject',
  HeadBucketCommand: 's3:ListBucket',
  HeadObjectCommand: 's3:GetObject',
  ListObjectsV2Command: 's3:ListBucket',
  ListMultipartUploadsCommand: 's3:ListBucketMultipartUploads',
  GetBucketLocationCommand: 's3:GetBucketLocation',
  GetBucketNotificationConfigurationCommand: 's3:GetBucketNotification',
  PutBucketNotificationConfigurationCommand: 's3:PutBucketNotification',
};

/**
 * The optional event block (the SQS queue intake, docs/events-aws.md): what
 * deploy needs to wire EventBridge rules and the intake queue in the bucket
 * owner's account, and what the worker needs to drain it. Limited to the
 * resources the product names `s3c-*`. Without it, `@auto` data sources poll.
 * (`s3:GetBucketNotification`/`s3:PutBucketNotification` are in the bucket block.)
 */
export const EVENT_RULE_ACTIONS = [
  'events:PutRule',
  'events:DeleteRule',
  'events:DescribeRule',
  'events:PutTargets',
  'events:RemoveTargets',
  'events:ListTargetsByRule',
] as const;
export const EVENT_QUEUE_ACTIONS = [
  'sqs:CreateQueue',
  'sqs:DeleteQueue',
  'sqs:GetQueueUrl',
  'sqs:GetQueueAttributes',
  'sqs:SetQueueAttributes',
  'sqs:TagQueue',
  'sqs:UntagQueue',
  'sqs:ListQueueTags',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
] as const;

/** The IAM action of each EventBridge and SQS call of the queue intake (a test checks that every one used in src/ is here). */
export const ACTION_OF_EVENT_COMMAND: Record<
  string,
  (typeof EVENT_RULE_ACTIONS)[number] | (typeof EVENT_QUEUE_ACTIONS)[number]
> = {
  PutRuleCommand: 'events:PutRule',
  DeleteRuleCommand: 'events:DeleteRule',
  DescribeRuleCommand: 'events:DescribeRule',
  PutTargetsCommand: 'events:PutTargets',
  RemoveTargetsCommand: 'events:RemoveTargets',
  ListTargetsByRuleCommand: 'events:ListTargetsByRule',
  CreateQueueCommand: 'sqs:CreateQueue',
  DeleteQueueCommand: 'sqs:DeleteQueue',
  GetQueueUrlCommand: 'sqs:GetQueueUrl',
  GetQueueAttributesCommand: 'sqs:GetQueueAttributes',
  SetQueueAttributesCommand: 'sqs:SetQueueAttributes',
  TagQueueCommand: 'sqs:TagQueue',
  UntagQueueCommand: 'sqs:UntagQueue',
  ListQueueTagsCommand: 'sqs:ListQueueTags',
  ReceiveMessageCommand: 'sqs:ReceiveMessage',
  DeleteMessageBatchCommand: 'sqs:DeleteMessage',
};

/** The event block's statements: rules and queues named `s3c-*`, in any region of the role's account. */
export function eventIntakeStatements(): AccessPolicy['Statement'] {
  return [
    { Effect: 'Allow', Action: [...EVENT_RULE_ACTIONS], Resource: ['arn:aws:events:*:*:rule/s3c-*'] },
    { Effect: 'Allow', Action: [...EVENT_QUEUE_ACTIONS], Resource: ['arn:aws:sqs:*:*:s3c-*'] },
  ];
}

/** Extra actions of a connection used to write (sink) into the bucket. */
export const SINK_EXTRA_ACTIONS = ['s3:PutObject'] as const;

/** An IAM access policy document. */
export interface AccessPolicy {
  Version: typeof POLICY_VERSION;
  Statement: {
    Effect: 'Allow';
    Action: string[];
    Resource: string[];
  }[];
}

/** An IAM role trust policy document. */
export interface TrustPolicy {
  Version: typeof POLICY_VERSION;
  Statement: {
    Effect: 'Allow';
    Action: 'sts:AssumeRole';
    Principal: { AWS: string | string[] };
    Condition: { StringEquals: { 'sts:ExternalId': string } };
  }[];
}

/** Options of {@link accessPolicy}. */
export interface AccessPolicyOptions {
  /** `ingest` (default): every action the connector uses ({@link INGEST_ACTIONS}); `sink` adds `s3:PutObject`. */
  purpose?: 'ingest' | 'sink';
  /** Add the optional event block ({@link eventIntakeStatements}): `@auto` data sources then hear S3 events through SQS. */
  events?: boolean;
}

/** Options of {@link trustPolicy}. */
export interface TrustPolicyOptions {
  /** AWS account ids (12 digits) allowed to assume the role; one or more. */
  accountIds: string[];
  /** The connection's external id (see `deriveExternalId`). */
  externalId: string;
}

/**
 * Why `name` is not a valid S3 bucket name, or undefined when it is.
 * Follows the general-purpose bucket naming rules: 3–63 characters, lowercase
 * letters, digits, dots and hyphens, starting and ending with a letter or
 * digit, no two adjacent dots, not shaped like an IP address.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name === '') return 'Invalid bucket name "": expected an S3 bucket name such as my-bucket';
  const quoted = JSON.stringify(name);
  if (name.startsWith('s3://') || name.includes('/')) {
    return `Invalid bucket name ${quoted}: expected only the bucket name, without s3:// or a path (e.g. my-bucket)`;
  }
  const bad = /[^a-z0-9.-]/.exec(name);
  if (bad !== null) {
    return `Invalid bucket name ${quoted}: found ${JSON.stringify(bad[0])}, expected only lowercase letters, digits, dots and hyphens`;
  }
  if (name.length < 3 || name.length > 63) {
    return `Invalid bucket name ${quoted}: it is ${name.length} characters long, expected 3 to 63`;
  }
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    return `Invalid bucket name ${quoted}: expected it to start and end with a lowercase letter or digit`;
  }
  if (name.includes('..')) return `Invalid bucket name ${quoted}: expected no two adjacent dots`;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return `Invalid bucket name ${quoted}: expected a name, not an IP address`;
  return undefined;
}

/** Why `id` is not an AWS account id (12 digits), or undefined when it is. */
export function accountIdProblem(id: string): string | undefined {
  return /^\d{12}$/.test(id)
    ? undefined
    : `Invalid AWS account id ${JSON.stringify(id)}: expected 12 digits, e.g. 123456789012`;
}

/** Characters AWS accepts in `sts:ExternalId` (2 to 1224 of them). */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

/**
 * The access policy for one or more buckets: the connector's actions on
 * `arn:aws:s3:::<bucket>` and `arn:aws:s3:::<bucket>/*` of each bucket, in
 * one statement (one role can serve several buckets). Duplicate bucket names
 * are listed once.
 *
 * @throws Error when the list is empty or a name is not a valid bucket name;
 *   the message names the bucket and what was expected.
 */
export function accessPolicy(buckets: string[], options: AccessPolicyOptions = {}): AccessPolicy {
  if (buckets.length === 0) throw new Error('An access policy needs at least one bucket name');
  const unique = [...new Set(buckets)];
  for (const b of unique) {
    const problem = bucketNameProblem(b);
    if (problem !== undefined) throw new Error(problem);
  }
  const actions: string[] = [...INGEST_ACTIONS];
  if (options.purpose === 'sink') actions.push(...SINK_EXTRA_ACTIONS);
  return {
    Version: POLICY_VERSION,
    Statement: [
      {
        Effect: 'Allow',
        Action: actions,
        Resource: unique.flatMap((b) => [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`]),
      },
      ...(options.events ? eventIntakeStatements() : []),
    ],
  };
}

/**
 * The trust policy letting `accountIds` assume the role with `externalId`.
 * `Principal.AWS` is a string for one account and an array for several (the
 * reference's tip for sharing one role between Local and Cloud). Duplicate
 * account ids are listed once.
 *
 * @throws Error when there is no account id, an id is not 12 digits, or the
 *   external id is not 2–1224 characters of `[A-Za-z0-9+=,.@:/_-]`.
 */
export function trustPolicy(options: TrustPolicyOptions): TrustPolicy {
  const { accountIds, externalId } = options;
  if (accountIds.length === 0) throw new Error('A trust policy needs at least one AWS account id');
  const unique = [...new Set(accountIds)];
  for (const id of unique) {
    const problem = accountIdProblem(id);
    if (problem !== undefined) throw new Error(problem);
  }
  if (!EXTERNAL_ID.test(externalId)) {
    throw new Error('Invalid external id: expected 2 to 1224 characters among letters, digits and + = , . @ : / _ -');
  }
  const principals = unique.map((id) => `arn:aws:iam::${id}:root`);
  return {
    Version: POLICY_VERSION,
    Statement: [
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { AWS: principals.length === 1 ? (principals[0] as string) : principals },
        Condition: { StringEquals: { 'sts:ExternalId': externalId } },
      },
    ],
  };
}

/** A policy as pretty JSON with a 4-space indent, ready to paste into the AWS console. */
export function formatPolicy(policy: object): string {
  return JSON.stringify(policy, null, 4);
}
