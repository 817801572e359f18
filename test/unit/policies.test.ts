import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deriveExternalId } from '../../src/aws/externalId';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  accessPolicy,
  ACTION_OF_EVENT_COMMAND,
  ACTION_OF_S3_COMMAND,
  formatPolicy,
  trustPolicy,
} from '../../src/aws/policies';

describe('AWS policies and external ids', () => {
  it('access policy for one bucket is the reference policy plus s3:ListBucketMultipartUploads (the upload race)', () => {
    assert.equal(
      formatPolicy(accessPolicy(['my-bucket'])),
      `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:ListBucket",
                "s3:GetBucketNotification",
                "s3:PutBucketNotification",
                "s3:GetBucketLocation",
                "s3:ListBucketMultipartUploads"
            ],
            "Resource": [
                "arn:aws:s3:::my-bucket",
                "arn:aws:s3:::my-bucket/*"
            ]
        }
    ]
}`,
    );
  });

  it('access policy for two buckets lists both in one statement, duplicates once', () => {
    assert.deepEqual(accessPolicy(['logs.example.com', 'raw-events', 'logs.example.com']), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            's3:GetObject',
            's3:ListBucket',
            's3:GetBucketNotification',
            's3:PutBucketNotification',
            's3:GetBucketLocation',
            's3:ListBucketMultipartUploads',
          ],
          Resource: [
            'arn:aws:s3:::logs.example.com',
            'arn:aws:s3:::logs.example.com/*',
            'arn:aws:s3:::raw-events',
            'arn:aws:s3:::raw-events/*',
          ],
        },
      ],
    });
  });

  it('a sink access policy adds s3:PutObject', () => {
    const p = accessPolicy(['out-bucket'], { purpose: 'sink' });
    assert.deepEqual(p.Statement[0]?.Action, [
      's3:GetObject',
      's3:ListBucket',
      's3:GetBucketNotification',
      's3:PutBucketNotification',
      's3:GetBucketLocation',
      's3:ListBucketMultipartUploads',
      's3:PutObject',
    ]);
  });

  it('access policy refuses bad bucket names with clear messages', () => {
    const cases: [string[], string][] = [
      [[], 'An access policy needs at least one bucket name'],
      [[''], 'Invalid bucket name "": expected an S3 bucket name such as my-bucket'],
      [
        ['My_Bucket'],
        'Invalid bucket name "My_Bucket": found "M", expected only lowercase letters, digits, dots and hyphens',
      ],
      [['ab'], 'Invalid bucket name "ab": it is 2 characters long, expected 3 to 63'],
      [['a'.repeat(64)], `Invalid bucket name "${'a'.repeat(64)}": it is 64 characters long, expected 3 to 63`],
      [['-bucket'], 'Invalid bucket name "-bucket": expected it to start and end with a lowercase letter or digit'],
      [['my..bucket'], 'Invalid bucket name "my..bucket": expected no two adjacent dots'],
      [['192.168.1.1'], 'Invalid bucket name "192.168.1.1": expected a name, not an IP address'],
      [
        ['s3://my-bucket'],
        'Invalid bucket name "s3://my-bucket": expected only the bucket name, without s3:// or a path (e.g. my-bucket)',
      ],
      [
        ['ok-bucket', 'my-bucket/data'],
        'Invalid bucket name "my-bucket/data": expected only the bucket name, without s3:// or a path (e.g. my-bucket)',
      ],
    ];
    for (const [buckets, message] of cases) {
      assert.throws(() => accessPolicy(buckets), { message }, JSON.stringify(buckets));
    }
  });

  it('trust policy for one account has a string principal (reference shape)', () => {
    assert.equal(
      formatPolicy(trustPolicy({ accountIds: ['123456789012'], externalId: 's3c-local-abc123' })),
      `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {
                "AWS": "arn:aws:iam::123456789012:root"
            },
            "Condition": {
                "StringEquals": {
                    "sts:ExternalId": "s3c-local-abc123"
                }
            }
        }
    ]
}`,
    );
  });

  it('trust policy for two accounts has an array principal', () => {
    assert.deepEqual(
      trustPolicy({ accountIds: ['111111111111', '222222222222', '111111111111'], externalId: 'ext-id' }),
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { AWS: ['arn:aws:iam::111111111111:root', 'arn:aws:iam::222222222222:root'] },
            Condition: { StringEquals: { 'sts:ExternalId': 'ext-id' } },
          },
        ],
      },
    );
  });

  it('trust policy refuses bad account ids and external ids', () => {
    assert.throws(() => trustPolicy({ accountIds: [], externalId: 'ext-id' }), {
      message: 'A trust policy needs at least one AWS account id',
    });
    assert.throws(() => trustPolicy({ accountIds: ['12345'], externalId: 'ext-id' }), {
      message: 'Invalid AWS account id "12345": expected 12 digits, e.g. 123456789012',
    });
    assert.throws(() => trustPolicy({ accountIds: ['123456789012', '12345678901a'], externalId: 'ext-id' }), {
      message: 'Invalid AWS account id "12345678901a": expected 12 digits, e.g. 123456789012',
    });
    assert.throws(() => trustPolicy({ accountIds: ['123456789012'], externalId: '' }), {
      message: 'Invalid external id: expected 2 to 1224 characters among letters, digits and + = , . @ : / _ -',
    });
    assert.throws(() => trustPolicy({ accountIds: ['123456789012'], externalId: 'has space' }), {
      message: 'Invalid external id: expected 2 to 1224 characters among letters, digits and + = , . @ : / _ -',
    });
  });

  it('formatPolicy indents with 4 spaces', () => {
    assert.equal(formatPolicy({ a: [1] }), '{\n    "a": [\n        1\n    ]\n}');
  });

  it('external id: stable for the same inputs, different for another workspace, secret or connection', () => {
    const a = deriveExternalId('secret-1', 'acme', 'my_s3');
    assert.equal(a, deriveExternalId('secret-1', 'acme', 'my_s3'));
    assert.notEqual(a, deriveExternalId('secret-1', 'other', 'my_s3'));
    assert.notEqual(a, deriveExternalId('secret-2', 'acme', 'my_s3'));
    assert.notEqual(a, deriveExternalId('secret-1', 'acme', 'my_s3_2'));
    assert.ok(!a.includes('secret-1'));
    // Usable in a trust policy as is.
    const policy = trustPolicy({ accountIds: ['123456789012'], externalId: a });
    assert.equal(policy.Statement[0]?.Condition.StringEquals['sts:ExternalId'], a);
  });

  it('the printed access policy grants every S3 call the product makes', () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
    // src/local talks to the local MinIO it starts, with that MinIO's root keys, never through a connection's role.
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.startsWith('local/'),
    );
    const used = new Set<string>();
    for (const f of files) {
      const text = readFileSync(join(root, f), 'utf8');
      for (const m of text.matchAll(/new (?:sdk\.)?(\w+Command)\(/g))
        if (/@aws-sdk\/client-s3/.test(text)) used.add(m[1]!);
    }
    // Calls of other services (STS, EventBridge) are not the bucket role's.
    const s3Commands = [...used].filter(
      (c) => !/AssumeRole|GetCallerIdentity|Rule|Targets|Connection|ApiDestination/.test(c),
    );
    const granted = new Set(accessPolicy(['my-bucket']).Statement[0]!.Action);
    for (const command of s3Commands) {
      const action = ACTION_OF_S3_COMMAND[command];
      assert.ok(action, `${command} is used in src/ but ACTION_OF_S3_COMMAND does not say which IAM action it needs`);
      assert.ok(granted.has(action), `${command} needs ${action}, which the printed access policy lacks`);
    }
    assert.ok(s3Commands.includes('ListMultipartUploadsCommand'));
  });

  it('the optional event block grants every EventBridge and SQS call of the queue intake, on s3c-* names only', () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const used = new Set<string>();
    for (const f of files) {
      const text = readFileSync(join(root, f), 'utf8');
      if (!/@aws-sdk\/client-sqs/.test(text)) continue;
      // STS is the machine's call that assumes the role, not the role's.
      for (const m of text.matchAll(/new (\w+Command)\(/g)) if (!/AssumeRole/.test(m[1]!)) used.add(m[1]!);
    }
    assert.ok(used.has('ReceiveMessageCommand') && used.has('PutRuleCommand'), [...used].join(', '));
    const policy = accessPolicy(['my-bucket'], { events: true });
    assert.equal(policy.Statement.length, 3);
    const granted = new Set(policy.Statement.slice(1).flatMap((s) => s.Action));
    for (const command of used) {
      const action = ACTION_OF_EVENT_COMMAND[command];
      assert.ok(
        action,
        `${command} is used by the queue intake but ACTION_OF_EVENT_COMMAND does not say which IAM action it needs`,
      );
      assert.ok(granted.has(action), `${command} needs ${action}, which the event block lacks`);
    }
    assert.deepEqual(
      policy.Statement.slice(1).map((s) => s.Resource),
      [['arn:aws:events:*:*:rule/s3c-*'], ['arn:aws:sqs:*:*:s3c-*']],
    );
    assert.equal(accessPolicy(['my-bucket']).Statement.length, 1, 'the block is optional');
  });
});
