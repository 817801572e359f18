import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DatafileError,
  SecretStore,
  SecretStoreError,
  checkConnection,
  checkDataSource,
  defaultSecretsFile,
  findSecretReferences,
  loadProject,
  resolveSecrets,
  secretLookup,
} from '../../src/datafiles/index';
import type { DataSourceDef } from '../../src/datafiles/types';
import { resolveDefinition } from '../../src/activities/definition';
import { activityFailure } from '../../src/activities/failures';
import { payloadDefinition } from '../../src/deploy/store';

const where = { file: 'c.connection', line: 7 };
const table: Record<string, string> = { ARN: 'arn:aws:iam::123456789012:role/r', BUCKET: 'my-bucket', EMPTY: '' };
const lookup = (name: string) => table[name];

describe('resolveSecrets', () => {
  const valid: [string, string][] = [
    ['plain value', 'plain value'],
    ['{{ tb_secret("ARN") }}', table.ARN as string],
    ["{{ tb_secret('ARN') }}", table.ARN as string],
    ['{{tb_secret("ARN")}}', table.ARN as string],
    ['{{   tb_secret (  "ARN"  )   }}', table.ARN as string],
    ['{{ tb_secret("MISSING", "fallback") }}', 'fallback'],
    ["{{ tb_secret('MISSING', 'fallback') }}", 'fallback'],
    ['{{ tb_secret("MISSING" , \'mixed quotes\') }}', 'mixed quotes'],
    ['{{ tb_secret("MISSING", "") }}', ''],
    ['{{ tb_secret("ARN", "ignored default") }}', table.ARN as string],
    ['{{ tb_secret("EMPTY", "not used") }}', ''],
    ['s3://{{ tb_secret("BUCKET") }}/prefix/*.csv', 's3://my-bucket/prefix/*.csv'],
    ['{{ tb_secret("BUCKET") }}-{{ tb_secret("BUCKET") }}', 'my-bucket-my-bucket'],
    ['{{ tb_secret("MISSING", "a, b (c)") }}', 'a, b (c)'],
  ];
  for (const [raw, resolved] of valid) {
    it(`resolves ${raw}`, () => assert.equal(resolveSecrets(raw, lookup, where), resolved));
  }

  const invalid: [string, string][] = [
    [
      '{{ tb_secret("MISSING") }}',
      'c.connection:7: Secret "MISSING" is not set: found "{{ tb_secret(\\"MISSING\\") }}", expected a secret named MISSING in the secret store (s3c secret set MISSING VALUE) or the environment, or a default: {{ tb_secret("MISSING", "default") }}',
    ],
    [
      '{{ tb_secret(MISSING) }}',
      'c.connection:7: Invalid secret reference: found "{{ tb_secret(MISSING) }}", expected {{ tb_secret("NAME") }} or {{ tb_secret("NAME", "default") }}',
    ],
    [
      '{{ tb_var("X") }}',
      'c.connection:7: Invalid secret reference: found "{{ tb_var(\\"X\\") }}", expected {{ tb_secret("NAME") }} or {{ tb_secret("NAME", "default") }}',
    ],
    [
      '{{ tb_secret("A", "b", "c") }}',
      'c.connection:7: Invalid secret reference: found "{{ tb_secret(\\"A\\", \\"b\\", \\"c\\") }}", expected {{ tb_secret("NAME") }} or {{ tb_secret("NAME", "default") }}',
    ],
    [
      '{{ tb_secret("1BAD") }}',
      'c.connection:7: Invalid secret name: found "1BAD", expected a name matching ^[A-Za-z_][A-Za-z0-9_]*$',
    ],
    [
      '{{ tb_secret("bad-name") }}',
      'c.connection:7: Invalid secret name: found "bad-name", expected a name matching ^[A-Za-z_][A-Za-z0-9_]*$',
    ],
    [
      '{{ tb_secret("ARN")',
      'c.connection:7: Unterminated secret reference: found "{{ tb_secret(\\"ARN\\")", expected {{ tb_secret("NAME") }} or {{ tb_secret("NAME", "default") }} closed by "}}"',
    ],
    [
      'x {{ tb_secret("ARN") }} {{',
      'c.connection:7: Unterminated secret reference: found "{{", expected {{ tb_secret("NAME") }} or {{ tb_secret("NAME", "default") }} closed by "}}"',
    ],
  ];
  for (const [raw, message] of invalid) {
    it(`refuses ${raw}`, () => {
      assert.throws(
        () => resolveSecrets(raw, lookup, where),
        (e: unknown) => {
          assert.ok(e instanceof DatafileError);
          assert.equal(e.message, message);
          assert.equal(e.line, 7);
          return true;
        },
      );
    });
  }

  it('lists references with names and defaults', () => {
    assert.deepEqual(findSecretReferences('a{{ tb_secret("X") }}b{{ tb_secret(\'Y\', "d") }}', where), [
      { text: '{{ tb_secret("X") }}', name: 'X', index: 1 },
      { text: '{{ tb_secret(\'Y\', "d") }}', name: 'Y', defaultValue: 'd', index: 22 },
    ]);
  });
});

describe('a secret value never appears in an error message', () => {
  const SECRET = 'Sup3r-S3cret-VALUE-do-not-print';
  // CONN keeps a character no connection name has: SECRET alone is a valid name since names may hold '-' (issue #19, item 9).
  const secretTable: Record<string, string> = {
    ARN: SECRET,
    REGION: SECRET,
    KEY: SECRET,
    ENDPOINT: SECRET,
    BUCKET: `s3://${SECRET}`,
    TS: SECRET,
    SCHED: SECRET,
    FMT: SECRET,
    CONN: `${SECRET}/x`,
    ENGINE: SECRET,
  };
  const resolverFor = (file: string) => (raw: string, line: number) =>
    resolveSecrets(raw, (n) => secretTable[n], { file, line });

  const assertHidden = (errors: DatafileError[], minimum: number) => {
    assert.ok(errors.length >= minimum, `expected at least ${minimum} errors, got ${errors.length}`);
    for (const e of errors) {
      for (const text of [e.message, e.found, e.expected, e.what, e.hint ?? '', String(e.stack)]) {
        assert.ok(!text.includes(SECRET), `secret leaked in: ${e.message}`);
        assert.ok(!text.includes('Sup3r'), `part of the secret leaked in: ${e.message}`);
      }
    }
  };

  it('in .connection validation errors', () => {
    const r = checkConnection(
      'TYPE s3\nS3_REGION {{ tb_secret("REGION") }}\nS3_ARN "{{ tb_secret(\'ARN\') }}"\nS3_ENDPOINT {{ tb_secret("ENDPOINT") }}\nS3_ACCESS_KEY {{ tb_secret("KEY") }}\n',
      'c.connection',
      resolverFor('c.connection'),
    );
    assertHidden(r.errors, 2);
    assert.deepEqual(
      r.errors.map((e) => e.message),
      [
        'c.connection:3: Invalid S3_ARN: found "{{ tb_secret(\'ARN\') }}" (value of a secret, not shown), expected an IAM role ARN: arn:aws:iam::<12-digit account id>:role/<role name>',
        'c.connection:4: Invalid S3_ENDPOINT: found "{{ tb_secret(\\"ENDPOINT\\") }}" (value of a secret, not shown), expected an http:// or https:// URL, e.g. http://localhost:9000',
      ],
    );
  });

  it('in AWS region and key-pair errors', () => {
    const r = checkConnection(
      'TYPE s3\nS3_REGION {{ tb_secret("REGION") }}\nS3_ARN arn:aws:iam::123456789012:role/r\nS3_SECRET {{ tb_secret("KEY") }}\n',
      'c.connection',
      resolverFor('c.connection'),
    );
    assertHidden(r.errors, 2);
  });

  it('in .datasource validation errors', () => {
    const r = checkDataSource(
      'SCHEMA >\n    `a` Int8\nENGINE {{ tb_secret("ENGINE") }}\nIMPORT_CONNECTION_NAME {{ tb_secret("CONN") }}\nIMPORT_BUCKET_URI {{ tb_secret("BUCKET") }}\nIMPORT_SCHEDULE {{ tb_secret("SCHED") }}\nIMPORT_FROM_TIMESTAMP {{ tb_secret("TS") }}\nIMPORT_FORMAT {{ tb_secret("FMT") }}\n',
      'd.datasource',
      resolverFor('d.datasource'),
    );
    assertHidden(r.errors, 6);
  });

  it('in a missing-secret error (the default is not shown as a value either)', () => {
    assert.throws(
      () => resolveSecrets('{{ tb_secret("NOPE") }}', (n) => secretTable[n], where),
      (e: unknown) => {
        assertHidden([e as DatafileError], 1);
        return true;
      },
    );
  });

  it('in loadProject errors', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 's3c-leak-'));
    fs.writeFileSync(path.join(root, 'c.connection'), 'TYPE s3\nS3_REGION us-east-1\nS3_ARN {{ tb_secret("ARN") }}\n');
    fs.writeFileSync(
      path.join(root, 'd.datasource'),
      'SCHEMA >\n    `a` Int8\nIMPORT_CONNECTION_NAME {{ tb_secret("CONN_NAME") }}\nIMPORT_BUCKET_URI s3://bucket/x.csv\nIMPORT_SCHEDULE @once\n',
    );
    const p = loadProject(root, (n) => (n === 'CONN_NAME' ? 'Sup3r_S3cret_VALUE' : secretTable[n]));
    assertHidden(p.errors, 2);
    assert.equal(
      p.errors[1]?.message,
      `${path.join(root, 'd.datasource')}:3: Unknown connection in IMPORT_CONNECTION_NAME: found "{{ tb_secret(\\"CONN_NAME\\") }}" (value of a secret, not shown), expected the name of a .connection file of the project (c)`,
    );
  });

  it('in secret store errors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3c-store-'));
    const file = path.join(dir, 'secrets.json');
    fs.writeFileSync(file, `{"secrets": {"A": "${SECRET}"`); // truncated JSON
    assert.throws(
      () => new SecretStore(file).list(),
      (e: unknown) => {
        assert.ok(e instanceof SecretStoreError);
        assert.ok(!e.message.includes(SECRET) && !String(e.stack).includes(SECRET));
        assert.equal(e.message, `The secrets store ${file} is not valid JSON; fix or delete it`);
        return true;
      },
    );
  });
});

describe('SecretStore', () => {
  const tmpStore = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3c-secrets-'));
    return { dir, file: defaultSecretsFile(dir) };
  };
  const mode = (p: string) => fs.statSync(p).mode & 0o777;

  it('defaults to .s3c/secrets.json under the project folder', () => {
    assert.equal(defaultSecretsFile('/proj'), path.join('/proj', '.s3c', 'secrets.json'));
    assert.equal(new SecretStore().file, path.join(process.cwd(), '.s3c', 'secrets.json'));
  });

  it('set, get, list (names only), remove; file mode 0600, folder 0700', () => {
    const { dir, file } = tmpStore();
    const store = new SecretStore(file);
    assert.deepEqual(store.list(), []);
    assert.equal(store.get('S3_ARN'), undefined);
    assert.equal(fs.existsSync(file), false, 'reading does not create the file');

    store.set('S3_ARN', 'arn:aws:iam::123456789012:role/x');
    store.set('B_KEY', 'v"al\nue');
    assert.equal(mode(file), 0o600);
    assert.equal(mode(path.join(dir, '.s3c')), 0o700);
    assert.equal(store.get('S3_ARN'), 'arn:aws:iam::123456789012:role/x');
    assert.equal(store.get('B_KEY'), 'v"al\nue');
    assert.deepEqual(store.list(), ['B_KEY', 'S3_ARN']);

    store.set('S3_ARN', 'replaced');
    assert.equal(new SecretStore(file).get('S3_ARN'), 'replaced', 'persisted for other instances');

    assert.equal(store.remove('S3_ARN'), true);
    assert.equal(store.remove('S3_ARN'), false);
    assert.deepEqual(store.list(), ['B_KEY']);
    assert.equal(mode(file), 0o600);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['secrets.json'], 'no temporary files left behind');
  });

  it('tightens an existing file that was too open', () => {
    const { file } = tmpStore();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"version":1,"secrets":{"A":"1"}}', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const store = new SecretStore(file);
    store.set('B', '2');
    assert.equal(mode(file), 0o600);
    assert.deepEqual(store.list(), ['A', 'B']);
  });

  it('does not treat Object.prototype names as secrets', () => {
    const { file } = tmpStore();
    const store = new SecretStore(file);
    assert.equal(store.get('constructor'), undefined);
    assert.equal(store.remove('toString'), false);
  });

  it('validates secret names', () => {
    const { file } = tmpStore();
    const store = new SecretStore(file);
    for (const bad of ['', '1A', 'A-B', 'a b', 'ä']) {
      assert.throws(
        () => store.set(bad, 'v'),
        (e: unknown) => {
          assert.ok(e instanceof SecretStoreError);
          assert.equal(
            e.message,
            `Invalid secret name ${JSON.stringify(bad)}: expected letters, digits and _, not starting with a digit (^[A-Za-z_][A-Za-z0-9_]*$)`,
          );
          return true;
        },
      );
      assert.throws(() => store.get(bad), SecretStoreError);
      assert.throws(() => store.remove(bad), SecretStoreError);
    }
    for (const good of ['A', '_a', 'a_1', 'S3_ARN_LOCAL']) store.set(good, 'v');
  });

  it('refuses a store file of the wrong shape', () => {
    const { file } = tmpStore();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"secrets": {"A": 1}}');
    assert.throws(
      () => new SecretStore(file).get('A'),
      (e: unknown) =>
        e instanceof SecretStoreError &&
        e.message === `The secrets store ${file} is not a {"secrets": {NAME: "value"}} object; fix or delete it`,
    );
  });
});

describe('secretLookup', () => {
  it('asks the store first, then the environment', () => {
    const file = defaultSecretsFile(fs.mkdtempSync(path.join(os.tmpdir(), 's3c-lookup-')));
    const store = new SecretStore(file);
    store.set('BOTH', 'from-store');
    store.set('STORE_ONLY', 'store');
    const env = { BOTH: 'from-env', ENV_ONLY: 'env' };
    const look = secretLookup(store, env);
    assert.equal(look('BOTH'), 'from-store');
    assert.equal(look('STORE_ONLY'), 'store');
    assert.equal(look('ENV_ONLY'), 'env');
    assert.equal(look('NEITHER'), undefined);
  });

  it('feeds resolveSecrets', () => {
    const store = new SecretStore(defaultSecretsFile(fs.mkdtempSync(path.join(os.tmpdir(), 's3c-lookup-'))));
    store.set('REGION', 'eu-west-1');
    assert.equal(
      resolveSecrets(
        '{{ tb_secret("REGION") }}/{{ tb_secret("ENV_X", "d") }}',
        secretLookup(store, { ENV_X: 'x' }),
        where,
      ),
      'eu-west-1/x',
    );
  });
});

describe('a bucket URI that workflows carry as its reference (issue #18, item 8)', () => {
  const ds = (bucketUri: string): DataSourceDef => ({
    name: 'hidden',
    path: 'p/hidden.datasource',
    schema: [],
    engine: 'MergeTree',
    import: { connectionName: 'c', bucketUri, schedule: { kind: 'auto' } },
  });
  const secrets: Record<string, string> = { URI: 's3://private-bucket/x/*.csv', BAD: 'not-a-uri-private-value' };
  /** As the activity resolves it: its errors become what the activity throws (activities/failures.ts). */
  const resolve = (uri: string) => {
    try {
      return resolveDefinition(ds(uri), (name) => secrets[name]);
    } catch (err) {
      throw activityFailure(err);
    }
  };

  it('deploy puts the reference in payloads; the activity resolves it', () => {
    const deployed = { def: ds(secrets.URI!), deployedAt: 'now', bucketUriAsWritten: '{{ tb_secret("URI") }}' };
    const payload = payloadDefinition(deployed);
    assert.equal(payload.import!.bucketUri, '{{ tb_secret("URI") }}');
    assert.equal(
      payloadDefinition({ def: ds('s3://plain/*.csv'), deployedAt: 'now' }).import!.bucketUri,
      's3://plain/*.csv',
    );
    assert.equal(resolve(payload.import!.bucketUri).import!.bucketUri, secrets.URI);
    assert.equal(resolve('s3://plain/*.csv').import!.bucketUri, 's3://plain/*.csv');
  });

  it('fails without retrying, naming the secret and never its value', () => {
    for (const [uri, why] of [
      ['{{ tb_secret("MISSING") }}', /cannot be resolved: Secret "MISSING" is not set$/],
      ['{{ tb_secret("BAD") }}', /cannot be resolved: its value is not an s3:\/\/ bucket URI \(value not shown\)$/],
    ] as const) {
      assert.throws(
        () => resolve(uri),
        (err: Error & { nonRetryable?: boolean }) => {
          assert.match(err.message, why);
          assert.equal(err.nonRetryable, true);
          assert.ok(!err.message.includes('private'), err.message);
          return true;
        },
      );
    }
  });
});
