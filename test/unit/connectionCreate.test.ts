import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deriveExternalId } from '../../src/aws/externalId';
import { accessPolicy, formatPolicy, trustPolicy, eventIntakeStatements } from '../../src/aws/policies';
import { type ConnectionPrompts, connectionCreateS3 } from '../../src/cli/connectionCreate';
import { formatConnectionRows, listConnections } from '../../src/cli/connectionList';
import { SecretStore, defaultSecretsFile, parseConnection, resolveSecrets } from '../../src/datafiles';

const WORKSPACE = 'acme';
const WORKSPACE_SECRET = 'ws-secret-9f8e7d6c5b4a';
const LOCAL_ACCOUNT = '111111111111';
const CLOUD_ACCOUNT = '222222222222';
const LOCAL_ARN = 'arn:aws:iam::333333333333:role/s3c-local-reader';
const CLOUD_ARN = 'arn:aws:iam::444444444444:role/s3c-cloud-reader';

const EXPECTED_FILE = `# S3 connection for reading from bucket my-bucket, created by \`s3c connection create s3\`.
# S3_ARN reads the secret S3_ARN_MY_S3_LOCAL: the ARN of the role for Local.
# The ARN of the role for Cloud is stored as the secret S3_ARN_MY_S3_CLOUD. Where this
# connection must use the Cloud role, either set S3_ARN_MY_S3_LOCAL to that ARN there
# (s3c secret set S3_ARN_MY_S3_LOCAL <cloud role ARN>, or an environment variable of that
# name), or reference {{ tb_secret("S3_ARN_MY_S3_CLOUD") }} below instead.
TYPE s3
S3_REGION "us-east-1"
S3_ARN {{ tb_secret("S3_ARN_MY_S3_LOCAL") }}
`;

interface Script {
  input?: string[];
  select?: unknown[];
  confirm?: boolean[];
}

/**
 * Scripted prompts. Like inquirer, `input` runs `validate` and, when it
 * returns a message, records it and takes the next answer — unless
 * `honorValidate` is false, to exercise the flow's own re-asking.
 */
function scripted(script: Script, honorValidate = true) {
  const inputs = [...(script.input ?? [])];
  const selects = [...(script.select ?? [])];
  const confirms = [...(script.confirm ?? [])];
  const asked: string[] = [];
  const validationMessages: string[] = [];
  const prompts: ConnectionPrompts = {
    async input(config) {
      asked.push(config.message);
      for (;;) {
        const answer = inputs.shift();
        if (answer === undefined) throw new Error(`no scripted answer for: ${config.message}`);
        if (honorValidate && config.validate) {
          const r = await config.validate(answer);
          if (r !== true) {
            validationMessages.push(String(r));
            continue;
          }
        }
        return answer;
      }
    },
    async select<Value>(config: { message: string; choices: readonly { value: Value }[] }): Promise<Value> {
      asked.push(config.message);
      if (selects.length === 0) throw new Error(`no scripted choice for: ${config.message}`);
      const v = selects.shift();
      assert.ok(
        config.choices.some((c) => c.value === v),
        `scripted choice ${String(v)} is one of the choices`,
      );
      return v as Value;
    },
    async confirm(config) {
      asked.push(config.message);
      const v = confirms.shift();
      if (v === undefined) throw new Error(`no scripted confirmation for: ${config.message}`);
      return v;
    },
  };
  return { prompts, asked, validationMessages, remaining: () => inputs.length + selects.length + confirms.length };
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3c-conn-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(
  script: Script,
  extra: { localAccountId?: string; name?: string; honorValidate?: boolean; cloudAccountId?: string } = {},
) {
  const s = scripted(script, extra.honorValidate ?? true);
  const lines: string[] = [];
  const promise = connectionCreateS3({
    projectDir: dir,
    workspace: WORKSPACE,
    workspaceSecret: WORKSPACE_SECRET,
    cloudAccountId: extra.cloudAccountId ?? CLOUD_ACCOUNT,
    prompts: s.prompts,
    out: (line) => lines.push(line),
    ...(extra.localAccountId !== undefined ? { localAccountId: extra.localAccountId } : {}),
    ...(extra.name !== undefined ? { name: extra.name } : {}),
  });
  return { promise, lines, ...s };
}

const HAPPY: Script = { input: ['my_s3', 'my-bucket', 'us-east-1', LOCAL_ARN, CLOUD_ARN], select: ['ingest'] };

function assertNoSecrets(lines: string[]): void {
  const all = lines.join('\n');
  for (const secret of [LOCAL_ARN, CLOUD_ARN, WORKSPACE_SECRET, 's3c-local-reader', 's3c-cloud-reader']) {
    assert.ok(!all.includes(secret), `output must not contain ${secret}`);
  }
}

describe('connection create s3 and connection ls', () => {
  it('happy path: writes the exact .connection file and stores both ARNs', async () => {
    const r = run(HAPPY, { localAccountId: LOCAL_ACCOUNT });
    const result = await r.promise;
    const file = path.join(dir, 'my_s3.connection');
    assert.deepEqual(result, { path: file, secrets: ['S3_ARN_MY_S3_LOCAL', 'S3_ARN_MY_S3_CLOUD'] });
    assert.equal(fs.readFileSync(file, 'utf8'), EXPECTED_FILE);
    assert.equal(r.remaining(), 0);
    assert.deepEqual(r.validationMessages, []);

    const store = new SecretStore(defaultSecretsFile(dir));
    assert.equal(store.get('S3_ARN_MY_S3_LOCAL'), LOCAL_ARN);
    assert.equal(store.get('S3_ARN_MY_S3_CLOUD'), CLOUD_ARN);

    // The written file parses, and resolves to the Local role.
    const conn = parseConnection(EXPECTED_FILE, file, (raw, line) =>
      resolveSecrets(raw, (n) => store.get(n), { file, line }),
    );
    assert.equal(conn.name, 'my_s3');
    assert.equal(conn.region, 'us-east-1');
    assert.equal(conn.roleArn, LOCAL_ARN);
  });

  it('happy path: output shows the access policy and both trust policies with the external id', async () => {
    const r = run(HAPPY, { localAccountId: LOCAL_ACCOUNT });
    await r.promise;
    const out = r.lines.join('\n');
    const externalId = deriveExternalId(WORKSPACE_SECRET, WORKSPACE, 'my_s3');
    assert.ok(out.includes(formatPolicy(accessPolicy(['my-bucket']))), 'access policy printed');
    assert.ok(out.includes('"arn:aws:s3:::my-bucket/*"'));
    // The optional event block (the SQS queue intake), apart from the policy.
    assert.ok(out.includes(formatPolicy(eventIntakeStatements())), 'event block printed');
    assert.ok(out.indexOf('sqs:ReceiveMessage') > out.indexOf('s3:GetObject'));
    assert.ok(
      out.includes(formatPolicy(trustPolicy({ accountIds: [LOCAL_ACCOUNT], externalId }))),
      'local trust policy printed',
    );
    assert.ok(
      out.includes(formatPolicy(trustPolicy({ accountIds: [CLOUD_ACCOUNT], externalId }))),
      'cloud trust policy printed',
    );
    assert.ok(out.includes(`"sts:ExternalId": "${externalId}"`));
    // Order: access policy, Local, Cloud.
    assert.ok(out.indexOf('s3:GetObject') < out.indexOf(`arn:aws:iam::${LOCAL_ACCOUNT}:root`));
    assert.ok(
      out.indexOf(`"AWS": "arn:aws:iam::${LOCAL_ACCOUNT}:root"`) <
        out.indexOf(`"AWS": "arn:aws:iam::${CLOUD_ACCOUNT}:root"`),
    );
    // What was written, and the next steps.
    assert.ok(out.includes('S3_ARN_MY_S3_LOCAL'));
    assert.ok(out.includes('S3_ARN_MY_S3_CLOUD'));
    assert.ok(out.includes(`✓ Wrote ${path.join(dir, 'my_s3.connection')}`));
    assert.ok(out.includes('IMPORT_CONNECTION_NAME my_s3'));
    assert.ok(out.includes('s3c deploy --check'));
    assertNoSecrets(r.lines);
    // Prompts in the reference's order.
    assert.equal(r.asked.length, 6);
    assert.match(r.asked[0] ?? '', /Connection name/);
    assert.match(r.asked[1] ?? '', /ingesting or sinking/);
    assert.match(r.asked[2] ?? '', /bucket/);
    assert.match(r.asked[3] ?? '', /region/);
    assert.match(r.asked[4] ?? '', /role for Local/);
    assert.match(r.asked[5] ?? '', /role for Cloud/);
  });

  it('the Local account id is asked for when unknown, and re-asked when invalid', async () => {
    const r = run({
      input: ['my_s3', 'my-bucket', 'us-east-1', '12345', LOCAL_ACCOUNT, LOCAL_ARN, CLOUD_ARN],
      select: ['ingest'],
    });
    await r.promise;
    assert.deepEqual(r.validationMessages, ['Invalid AWS account id "12345": expected 12 digits, e.g. 123456789012']);
    assert.ok(r.asked.some((m) => /account id of the credentials Local uses/.test(m)));
    assert.ok(r.lines.join('\n').includes(`"AWS": "arn:aws:iam::${LOCAL_ACCOUNT}:root"`));
  });

  it('bad inputs are re-asked with clear messages', async () => {
    const r = run(
      {
        input: [
          'my.s3', // bad name
          '1st', // bad name
          'my_s3',
          'My_Bucket', // bad bucket
          'my-bucket',
          'US East', // bad region
          'us-east-1',
          'arn:aws:iam::123:role/x', // bad ARN
          LOCAL_ARN,
          'not-an-arn-at-all', // bad ARN
          CLOUD_ARN,
        ],
        select: ['ingest'],
      },
      { localAccountId: LOCAL_ACCOUNT },
    );
    await r.promise;
    assert.deepEqual(r.validationMessages, [
      'Invalid connection name "my.s3": expected letters, digits, _ and -, not starting with a digit or - (^[a-zA-Z_][a-zA-Z0-9_-]*$)',
      'Invalid connection name "1st": expected letters, digits, _ and -, not starting with a digit or - (^[a-zA-Z_][a-zA-Z0-9_-]*$)',
      'Invalid bucket name "My_Bucket": found "M", expected only lowercase letters, digits, dots and hyphens',
      'Invalid region "US East": expected an AWS region such as us-east-1 or eu-west-1',
      'Invalid role ARN: expected arn:aws:iam::<12-digit account id>:role/<role name>, e.g. arn:aws:iam::123456789012:role/s3c-ingest',
      'Invalid role ARN: expected arn:aws:iam::<12-digit account id>:role/<role name>, e.g. arn:aws:iam::123456789012:role/s3c-ingest',
    ]);
    assert.equal(fs.readFileSync(path.join(dir, 'my_s3.connection'), 'utf8'), EXPECTED_FILE);
    // A rejected ARN is never echoed back.
    assert.ok(!r.validationMessages.join('\n').includes('not-an-arn-at-all'));
  });

  it('a prompt that ignores validate gets the problem printed and is asked again', async () => {
    const r = run(
      {
        input: ['bad name', 'my_s3', 's3://my-bucket/data/*.csv', 'us-east-1', 'arn:nope', LOCAL_ARN, CLOUD_ARN],
        select: ['ingest'],
      },
      { localAccountId: LOCAL_ACCOUNT, honorValidate: false },
    );
    await r.promise;
    assert.ok(
      r.lines.includes(
        '✗ Invalid connection name "bad name": expected letters, digits, _ and -, not starting with a digit or - (^[a-zA-Z_][a-zA-Z0-9_-]*$)',
      ),
    );
    assert.ok(
      r.lines.includes(
        '✗ Invalid role ARN: expected arn:aws:iam::<12-digit account id>:role/<role name>, e.g. arn:aws:iam::123456789012:role/s3c-ingest',
      ),
    );
    // A pasted s3:// URI gives its bucket.
    assert.equal(fs.readFileSync(path.join(dir, 'my_s3.connection'), 'utf8'), EXPECTED_FILE);
    assertNoSecrets(r.lines);
  });

  it('after three bad answers the flow gives up and writes nothing', async () => {
    const r = run(
      { input: ['my_s3', 'my-bucket', 'nowhere', 'Nowhere', 'xx-1'], select: ['ingest'] },
      { localAccountId: LOCAL_ACCOUNT, honorValidate: false },
    );
    await assert.rejects(r.promise, {
      message:
        'Invalid region "xx-1": expected an AWS region such as us-east-1 or eu-west-1 (no valid answer after 3 attempts)',
    });
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('an existing connection name is re-asked interactively', async () => {
    fs.writeFileSync(
      path.join(dir, 'my_s3.connection'),
      'TYPE s3\nS3_REGION "eu-west-1"\nS3_ARN "arn:aws:iam::123456789012:role/x"\n',
    );
    const r = run(
      { input: ['my_s3', 'other_s3', 'my-bucket', 'us-east-1', LOCAL_ARN, CLOUD_ARN], select: ['ingest'] },
      { localAccountId: LOCAL_ACCOUNT },
    );
    const result = await r.promise;
    assert.deepEqual(r.validationMessages, [
      'A connection named "my_s3" already exists (my_s3.connection); choose another name or edit that file',
    ]);
    assert.equal(result.path, path.join(dir, 'other_s3.connection'));
    assert.deepEqual(result.secrets, ['S3_ARN_OTHER_S3_LOCAL', 'S3_ARN_OTHER_S3_CLOUD']);
    assert.match(fs.readFileSync(result.path, 'utf8'), /^S3_ARN \{\{ tb_secret\("S3_ARN_OTHER_S3_LOCAL"\) \}\}$/m);
    // The existing file is untouched.
    assert.equal(
      fs.readFileSync(path.join(dir, 'my_s3.connection'), 'utf8'),
      'TYPE s3\nS3_REGION "eu-west-1"\nS3_ARN "arn:aws:iam::123456789012:role/x"\n',
    );
  });

  it('an existing connection name given as option is refused, also in a subfolder', async () => {
    fs.mkdirSync(path.join(dir, 'connections'));
    fs.writeFileSync(path.join(dir, 'connections', 'my_s3.connection'), 'TYPE s3\n');
    const r = run({}, { name: 'my_s3', localAccountId: LOCAL_ACCOUNT });
    await assert.rejects(r.promise, {
      message: `A connection named "my_s3" already exists (${path.join('connections', 'my_s3.connection')}); choose another name or edit that file`,
    });
    assert.deepEqual(r.asked, []);
    const bad = run({}, { name: '-s3', localAccountId: LOCAL_ACCOUNT });
    await assert.rejects(bad.promise, {
      message:
        'Invalid connection name "-s3": expected letters, digits, _ and -, not starting with a digit or - (^[a-zA-Z_][a-zA-Z0-9_-]*$)',
    });
    // my-s3 would keep its role ARNs in the secrets of my_s3.
    const same = run({}, { name: 'my-s3', localAccountId: LOCAL_ACCOUNT });
    await assert.rejects(same.promise, {
      message: `The connection "my_s3" (${path.join('connections', 'my_s3.connection')}) already keeps its role ARNs in the secrets S3_ARN_MY_S3_LOCAL and S3_ARN_MY_S3_CLOUD; choose a name that differs in more than case, _ and -`,
    });
    assert.ok(!fs.existsSync(defaultSecretsFile(dir)));
  });

  it('a name given as option skips the name prompt', async () => {
    const r = run(
      { input: ['my-bucket', 'us-east-1', LOCAL_ARN, CLOUD_ARN], select: ['ingest'] },
      { name: 'my_s3', localAccountId: LOCAL_ACCOUNT },
    );
    await r.promise;
    assert.equal(fs.readFileSync(path.join(dir, 'my_s3.connection'), 'utf8'), EXPECTED_FILE);
    assert.ok(!r.asked.some((m) => /Connection name/.test(m)));
  });

  it("the reference's connection names (my-s3-cloud) are accepted; their secrets take _ for -", async () => {
    // Issue #19, item 9: the reference names its connections my-s3-local and my-s3-cloud.
    const r = run(
      { input: ['my-bucket', 'us-east-1', LOCAL_ARN, CLOUD_ARN], select: ['ingest'] },
      { name: 'my-s3-cloud', localAccountId: LOCAL_ACCOUNT },
    );
    const result = await r.promise;
    assert.equal(result.path, path.join(dir, 'my-s3-cloud.connection'));
    assert.deepEqual(result.secrets, ['S3_ARN_MY_S3_CLOUD_LOCAL', 'S3_ARN_MY_S3_CLOUD_CLOUD']);
    const text = fs.readFileSync(result.path, 'utf8');
    assert.match(text, /^S3_ARN \{\{ tb_secret\("S3_ARN_MY_S3_CLOUD_LOCAL"\) \}\}$/m);
    // The file it wrote parses, with the secret it stored.
    const store = new SecretStore(defaultSecretsFile(dir));
    assert.equal(
      parseConnection(text, result.path, (raw, line) =>
        resolveSecrets(raw, (n) => store.get(n), { file: result.path, line }),
      ).name,
      'my-s3-cloud',
    );
  });

  it('invalid account id options are refused before any prompt', async () => {
    const r = run({}, { cloudAccountId: '42' });
    await assert.rejects(r.promise, {
      message: 'Cloud account id: Invalid AWS account id "42": expected 12 digits, e.g. 123456789012',
    });
    const l = run({}, { localAccountId: 'abc' });
    await assert.rejects(l.promise, {
      message: 'Local account id: Invalid AWS account id "abc": expected 12 digits, e.g. 123456789012',
    });
    assert.deepEqual([...r.asked, ...l.asked], []);
  });

  it('existing secrets are replaced only when confirmed', async () => {
    const store = new SecretStore(defaultSecretsFile(dir));
    store.set('S3_ARN_MY_S3_LOCAL', 'arn:aws:iam::999999999999:role/previous');
    const declined = run({ ...HAPPY, confirm: [false] }, { localAccountId: LOCAL_ACCOUNT });
    await assert.rejects(declined.promise, {
      message: 'Cancelled: kept the existing secret S3_ARN_MY_S3_LOCAL; nothing was written',
    });
    assert.equal(store.get('S3_ARN_MY_S3_LOCAL'), 'arn:aws:iam::999999999999:role/previous');
    assert.equal(store.get('S3_ARN_MY_S3_CLOUD'), undefined);
    assert.ok(!fs.existsSync(path.join(dir, 'my_s3.connection')));

    const accepted = run({ ...HAPPY, confirm: [true] }, { localAccountId: LOCAL_ACCOUNT });
    await accepted.promise;
    assert.ok(accepted.asked.some((m) => m === 'The secret S3_ARN_MY_S3_LOCAL already exists. Replace?'));
    assert.equal(store.get('S3_ARN_MY_S3_LOCAL'), LOCAL_ARN);
    assertNoSecrets(accepted.lines);
    assert.ok(!accepted.lines.join('\n').includes('role/previous'));
  });

  it('a sink connection prints the policy with s3:PutObject', async () => {
    const r = run(
      { input: ['out_s3', 'out-bucket', 'eu-west-1', LOCAL_ARN, CLOUD_ARN], select: ['sink'] },
      { localAccountId: LOCAL_ACCOUNT },
    );
    const result = await r.promise;
    assert.ok(r.lines.join('\n').includes(formatPolicy(accessPolicy(['out-bucket'], { purpose: 'sink' }))));
    assert.ok(r.lines.includes('                "s3:PutObject"'));
    const text = fs.readFileSync(result.path, 'utf8');
    assert.match(text, /^# S3 connection for writing to bucket out-bucket/);
    assert.match(text, /^S3_REGION "eu-west-1"$/m);
  });

  it('connection ls shows the created connection without secret values', async () => {
    await run(HAPPY, { localAccountId: LOCAL_ACCOUNT }).promise;
    fs.writeFileSync(
      path.join(dir, 'minio.connection'),
      'TYPE s3\nS3_REGION "us-east-1"\nS3_ENDPOINT "http://admin:pw@localhost:9000"\nS3_ACCESS_KEY "AKIAABCDEFGHIJKLWXYZ"\nS3_SECRET {{ tb_secret("MINIO_SECRET") }}\n',
    );
    fs.writeFileSync(
      path.join(dir, 'short.connection'),
      'TYPE s3\nS3_REGION "us-east-1"\nS3_ACCESS_KEY "minioadmin"\nS3_SECRET "minio-secret-value"\n',
    );
    fs.writeFileSync(
      path.join(dir, 'broken.connection'),
      'TYPE s3\nS3_REGION "us-east-1"\nS3_SECRET "half-a-key-pair\n',
    );
    const store = new SecretStore(defaultSecretsFile(dir));
    store.set('MINIO_SECRET', 'very-secret-minio-key');
    const rows = listConnections(dir, (n) => store.get(n));
    assert.deepEqual(
      rows.map((r) => ({ ...r, error: r.error === undefined ? undefined : 'ERR' })),
      [
        { name: 'broken', file: 'broken.connection', error: 'ERR' },
        {
          name: 'minio',
          region: 'us-east-1',
          auth: 'static keys',
          accessKey: '****WXYZ',
          endpoint: 'http://localhost:9000/',
          file: 'minio.connection',
          error: undefined,
        },
        {
          name: 'my_s3',
          region: 'us-east-1',
          auth: 'role',
          roleArn: 'arn:aws:iam::333333333333:role/****',
          file: 'my_s3.connection',
          error: undefined,
        },
        {
          name: 'short',
          region: 'us-east-1',
          auth: 'static keys',
          accessKey: '****',
          file: 'short.connection',
          error: undefined,
        },
      ],
    );
    const printed = formatConnectionRows(rows).join('\n');
    for (const secret of [
      LOCAL_ARN,
      's3c-local-reader',
      'very-secret-minio-key',
      'AKIAABCDEFGHIJKLWXYZ',
      'minioadmin',
      'minio-secret-value',
      'half-a-key-pair',
      ':pw@',
    ]) {
      assert.ok(!printed.includes(secret), `connection ls must not print ${secret}`);
    }
    assert.match(printed, /^NAME +REGION +AUTH +ROLE +ACCESS KEY +ENDPOINT +FILE$/m);
    assert.match(
      printed,
      /^my_s3 +us-east-1 +role +arn:aws:iam::333333333333:role\/\*\*\*\* +- +- +my_s3\.connection$/m,
    );
    assert.match(printed, /^✗ broken\.connection:3: Unterminated quoted value: found .*\*\*\*\*/m);
  });

  it('connection ls reports a missing secret by name only', () => {
    fs.writeFileSync(
      path.join(dir, 'c.connection'),
      'TYPE s3\nS3_REGION "us-east-1"\nS3_ARN {{ tb_secret("NOT_SET_ANYWHERE") }}\n',
    );
    const [row] = listConnections(dir, () => undefined);
    assert.equal(row?.name, 'c');
    assert.match(row?.error ?? '', /Secret "NOT_SET_ANYWHERE" is not set/);
    assert.deepEqual(formatConnectionRows([]), ['No connections. Create one with: s3c connection create s3']);
  });
});
