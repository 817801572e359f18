/**
 * `s3c connection create s3` (SPEC R7.1, R11): the guided flow of the
 * reference's "Create an S3 connection". It asks for the connection name, its
 * purpose (ingest or sink), the bucket and its region; prints the access
 * policy and the trust policies for Local and Cloud; asks for the two role
 * ARNs, stores them as secrets and writes `<name>.connection`.
 *
 * Prompts are injected ({@link ConnectionPrompts}) so tests can script the
 * answers; the CLI passes {@link inquirerPrompts}. No secret value (the role
 * ARNs, the workspace secret) is ever written to `out` or put in an error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deriveExternalId } from '../aws/externalId';
import {
  accessPolicy,
  accountIdProblem,
  bucketNameProblem,
  eventIntakeStatements,
  formatPolicy,
  trustPolicy,
} from '../aws/policies';
import {
  CONNECTION_NAME_PATTERN,
  CONNECTION_NAME_RULE,
  SecretStore,
  defaultSecretsFile,
  findDatafiles,
  parseConnection,
  resolveSecrets,
  roleAccountId,
} from '../datafiles';
import { type ConnectionPrompts, ask, printBlock } from './prompting';

// Re-exported: the commands and tests import the prompts from here.
export { type ConnectionPrompts, inquirerPrompts } from './prompting';

/** Options of {@link connectionCreateS3}. */
export interface ConnectionCreateOptions {
  /** The folder that holds the datafiles; `<name>.connection` is written here. */
  projectDir: string;
  /** Workspace name; with the workspace secret it derives the external id. */
  workspace: string;
  /** The workspace secret (never printed). */
  workspaceSecret: string;
  /** The named environment whose secret store keeps the role ARNs; absent for the default one. */
  environment?: string;
  /** AWS account id of the machine's credentials (Local), when known; otherwise it is asked for. */
  localAccountId?: string;
  /** The product's AWS account id (Cloud). */
  cloudAccountId: string;
  /** Prompt functions. */
  prompts: ConnectionPrompts;
  /** Receives every line of output. */
  out: (line: string) => void;
  /** The connection name; when given it is not asked for, and a bad or taken name is refused. */
  name?: string;
}

/** What {@link connectionCreateS3} created. */
export interface ConnectionCreateResult {
  /** Path of the `.connection` file written. */
  path: string;
  /** Names of the secrets stored (Local role ARN, then Cloud role ARN). */
  secrets: string[];
}

const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;
const ROLE_ARN_SHAPE = 'arn:aws:iam::<12-digit account id>:role/<role name>';

/** Why `name` cannot be a new connection in `projectDir`, or undefined when it can. */
export function connectionNameProblem(name: string, projectDir: string): string | undefined {
  if (!CONNECTION_NAME_PATTERN.test(name)) {
    return `Invalid connection name ${JSON.stringify(name)}: expected ${CONNECTION_NAME_RULE} (${CONNECTION_NAME_PATTERN.source})`;
  }
  const existing = existingConnectionFile(name, projectDir);
  if (existing !== undefined) {
    return `A connection named ${JSON.stringify(name)} already exists (${path.relative(projectDir, existing) || existing}); choose another name or edit that file`;
  }
  const sameSecrets = connectionWithSameSecrets(name, projectDir);
  if (sameSecrets !== undefined) {
    const { local, cloud } = roleArnSecretNames(name);
    return (
      `The connection ${JSON.stringify(path.basename(sameSecrets, '.connection'))} (${path.relative(projectDir, sameSecrets) || sameSecrets}) ` +
      `already keeps its role ARNs in the secrets ${local} and ${cloud}; choose a name that differs in more than case, _ and -`
    );
  }
  return undefined;
}

function existingConnectionFile(name: string, projectDir: string): string | undefined {
  const direct = path.join(projectDir, `${name}.connection`);
  if (fs.existsSync(direct)) return direct;
  if (!fs.existsSync(projectDir)) return undefined;
  return findDatafiles(projectDir).find((f) => path.basename(f) === `${name}.connection`);
}

/** A connection file whose role-ARN secrets would be this name's (`my-s3` and `my_s3` share them). */
function connectionWithSameSecrets(name: string, projectDir: string): string | undefined {
  if (!fs.existsSync(projectDir)) return undefined;
  const mine = roleArnSecretNames(name).local;
  return findDatafiles(projectDir).find(
    (f) => f.endsWith('.connection') && roleArnSecretNames(path.basename(f, '.connection')).local === mine,
  );
}

/** Why `region` is not an AWS region name, or undefined when it is. */
export function regionProblem(region: string): string | undefined {
  return AWS_REGION.test(region)
    ? undefined
    : `Invalid region ${JSON.stringify(region)}: expected an AWS region such as us-east-1 or eu-west-1`;
}

/** Why `arn` is not an IAM role ARN, or undefined when it is. The message never repeats the value. */
export function roleArnProblem(arn: string): string | undefined {
  return roleAccountId(arn) !== undefined
    ? undefined
    : `Invalid role ARN: expected ${ROLE_ARN_SHAPE}, e.g. arn:aws:iam::123456789012:role/s3c-ingest`;
}

/** The bucket name of an answer, accepting a pasted `s3://bucket/...` URI. */
function normalizeBucket(answer: string): string {
  const t = answer.trim();
  if (!t.startsWith('s3://')) return t;
  const rest = t.slice('s3://'.length);
  const slash = rest.indexOf('/');
  return slash === -1 ? rest : rest.slice(0, slash);
}

/** Secret names of a connection's role ARNs. */
export function roleArnSecretNames(connectionName: string): { local: string; cloud: string } {
  // Secret names take no `-` (SECRET_NAME_PATTERN): `my-s3-local` keeps its ARNs in S3_ARN_MY_S3_LOCAL_*.
  const upper = connectionName.toUpperCase().replaceAll('-', '_');
  return { local: `S3_ARN_${upper}_LOCAL`, cloud: `S3_ARN_${upper}_CLOUD` };
}

/**
 * The text of the `.connection` file the flow writes: `TYPE s3`, the region
 * and `S3_ARN` read from the Local role's secret, with comments on how to use
 * the Cloud role's secret instead.
 */
export function connectionFileText(options: {
  name: string;
  purpose: 'ingest' | 'sink';
  bucket: string;
  region: string;
}): string {
  const { local, cloud } = roleArnSecretNames(options.name);
  const doing = options.purpose === 'sink' ? 'writing to' : 'reading from';
  return [
    `# S3 connection for ${doing} bucket ${options.bucket}, created by \`s3c connection create s3\`.`,
    `# S3_ARN reads the secret ${local}: the ARN of the role for Local.`,
    `# The ARN of the role for Cloud is stored as the secret ${cloud}. Where this`,
    `# connection must use the Cloud role, either set ${local} to that ARN there`,
    `# (s3c secret set ${local} <cloud role ARN>, or an environment variable of that`,
    `# name), or reference {{ tb_secret("${cloud}") }} below instead.`,
    'TYPE s3',
    `S3_REGION "${options.region}"`,
    `S3_ARN {{ tb_secret("${local}") }}`,
    '',
  ].join('\n');
}

/**
 * Runs the guided flow and writes `<name>.connection` (see the module doc).
 *
 * Steps: (1) name, (2) ingest or sink, (3) bucket, (4) region, (5) access
 * policy, (6) Local trust policy and Local role ARN, (7) Cloud trust policy and
 * Cloud role ARN, (8) both ARNs stored as secrets `S3_ARN_<NAME>_LOCAL` and
 * `S3_ARN_<NAME>_CLOUD`; the file is written and parsed back to prove it valid.
 *
 * @throws Error when a given option is invalid (name, account ids), a prompt
 *   keeps giving bad answers, the user declines to replace existing secrets,
 *   or the file cannot be written. Nothing is stored or written before all
 *   answers are in.
 */
export async function connectionCreateS3(options: ConnectionCreateOptions): Promise<ConnectionCreateResult> {
  const { projectDir, workspace, workspaceSecret, prompts, out } = options;
  checkAccountIds(options);
  out('Creating an S3 connection.');

  const name = await askName(options);
  const purpose = await askPurpose(prompts);
  const bucket = await ask(prompts, out, 'S3 bucket name (e.g. my-bucket):', bucketNameProblem, {
    normalize: normalizeBucket,
  });
  const region = await ask(prompts, out, 'AWS region of the bucket (e.g. us-east-1):', regionProblem);
  printAccessPolicy(out, bucket, purpose);
  const externalId = deriveExternalId(workspaceSecret, workspace, name);
  const local = await askLocalRole(options, externalId);
  const cloudArn = await askCloudRole(options, externalId, local.accountId);

  // (8) Secrets and file.
  const secrets = roleArnSecretNames(name);
  const store = new SecretStore(defaultSecretsFile(projectDir, options.environment));
  await confirmReplacingSecrets(prompts, store, secrets);
  // The name may have been taken while the prompts were open.
  const lateProblem = connectionNameProblem(name, projectDir);
  if (lateProblem !== undefined) throw new Error(lateProblem);

  store.set(secrets.local, local.arn);
  store.set(secrets.cloud, cloudArn);
  out('');
  out(`✓ Stored the Local role's ARN as secret ${secrets.local} (value not shown)`);
  out(`✓ Stored the Cloud role's ARN as secret ${secrets.cloud} (value not shown)`);
  const { file, text } = writeConnectionFile(projectDir, { name, purpose, bucket, region }, store);
  out(`✓ Wrote ${file}:`);
  out('');
  printBlock(out, text, '    ');
  out('');
  printNextSteps(out, name, purpose, bucket);
  return { path: file, secrets: [secrets.local, secrets.cloud] };
}

/** The account ids given as options are checked before anything is asked. */
function checkAccountIds(options: ConnectionCreateOptions): void {
  const cloudProblem = accountIdProblem(options.cloudAccountId);
  if (cloudProblem !== undefined) throw new Error(`Cloud account id: ${cloudProblem}`);
  if (options.localAccountId !== undefined) {
    const localProblem = accountIdProblem(options.localAccountId);
    if (localProblem !== undefined) throw new Error(`Local account id: ${localProblem}`);
  }
}

/** (1) The name: the one given (refused when bad or taken), or asked for. */
async function askName(options: ConnectionCreateOptions): Promise<string> {
  const { projectDir, prompts, out } = options;
  if (options.name === undefined) {
    return ask(prompts, out, 'Connection name (letters, digits, _ and -):', (v) =>
      connectionNameProblem(v, projectDir),
    );
  }
  const p = connectionNameProblem(options.name, projectDir);
  if (p !== undefined) throw new Error(p);
  return options.name;
}

/** (2) Ingest or sink. */
async function askPurpose(prompts: ConnectionPrompts): Promise<'ingest' | 'sink'> {
  const purpose = await prompts.select<'ingest' | 'sink'>({
    message: 'Will this connection be used for ingesting or sinking data?',
    choices: [
      { value: 'ingest', name: 'Ingest', description: 'Read files from the bucket into data sources' },
      { value: 'sink', name: 'Sink', description: 'Write files to the bucket' },
    ],
    default: 'ingest',
  });
  if (purpose !== 'ingest' && purpose !== 'sink')
    throw new Error(`Invalid choice ${JSON.stringify(purpose)}: expected "ingest" or "sink"`);
  return purpose;
}

/** (5) The access policy, to create in IAM and attach to both roles. */
function printAccessPolicy(out: (line: string) => void, bucket: string, purpose: 'ingest' | 'sink'): void {
  out('');
  out('Step 1: create this access policy in AWS IAM (Policies > Create policy > JSON),');
  out('then attach it to the roles of the next steps:');
  out('');
  printBlock(out, formatPolicy(accessPolicy([bucket], { purpose })));
  out('');
  if (purpose !== 'ingest') return;
  // The optional event block (docs/events-aws.md): without it, @auto data sources poll.
  out('Optional: for S3 events to reach @auto data sources through EventBridge and SQS, add these');
  out('statements to its "Statement" list:');
  out('');
  printBlock(out, formatPolicy(eventIntakeStatements()));
  out('');
}

/** (6) Local: its account id (asked when not known), its trust policy, its role's ARN. */
async function askLocalRole(
  options: ConnectionCreateOptions,
  externalId: string,
): Promise<{ accountId: string; arn: string }> {
  const { prompts, out } = options;
  let accountId = options.localAccountId;
  if (accountId === undefined) {
    out('The AWS account id of your local credentials is not known.');
    accountId = await ask(
      prompts,
      out,
      'AWS account id of the credentials Local uses (12 digits; see `aws sts get-caller-identity --query Account`):',
      accountIdProblem,
    );
  }
  out(`Step 2: create a role for Local (account ${accountId}, the credentials passed with --use-aws-creds)`);
  out('with this trust policy, and attach the access policy to it:');
  out('');
  printBlock(out, formatPolicy(trustPolicy({ accountIds: [accountId], externalId })));
  out('');
  const arn = await ask(prompts, out, `ARN of the role for Local (${ROLE_ARN_SHAPE}):`, roleArnProblem);
  return { accountId, arn };
}

/** (7) Cloud: its trust policy and its role's ARN. */
async function askCloudRole(
  options: ConnectionCreateOptions,
  externalId: string,
  localAccountId: string,
): Promise<string> {
  const { prompts, out } = options;
  out(`Step 3: create a role for Cloud (account ${options.cloudAccountId}) with this trust policy,`);
  out('and attach the access policy to it:');
  out('');
  printBlock(out, formatPolicy(trustPolicy({ accountIds: [options.cloudAccountId], externalId })));
  out('');
  out(
    `Tip: one role can serve both: put both accounts in Principal.AWS: ["arn:aws:iam::${localAccountId}:root", "arn:aws:iam::${options.cloudAccountId}:root"].`,
  );
  return ask(prompts, out, `ARN of the role for Cloud (${ROLE_ARN_SHAPE}):`, roleArnProblem);
}

/** Asks before replacing secrets of the same names; a no cancels the flow. */
async function confirmReplacingSecrets(
  prompts: ConnectionPrompts,
  store: SecretStore,
  secrets: { local: string; cloud: string },
): Promise<void> {
  const taken = [secrets.local, secrets.cloud].filter((s) => store.get(s) !== undefined);
  if (taken.length === 0) return;
  const replace = await prompts.confirm({
    message: `The secret${taken.length > 1 ? 's' : ''} ${taken.join(' and ')} already exist${taken.length > 1 ? '' : 's'}. Replace?`,
    default: false,
  });
  if (!replace)
    throw new Error(
      `Cancelled: kept the existing secret${taken.length > 1 ? 's' : ''} ${taken.join(' and ')}; nothing was written`,
    );
}

/** Writes `<name>.connection` (never over a file) and parses it back with the stored secrets; removed when it does not parse. */
function writeConnectionFile(
  projectDir: string,
  spec: Parameters<typeof connectionFileText>[0],
  store: SecretStore,
): { file: string; text: string } {
  const file = path.join(projectDir, `${spec.name}.connection`);
  const text = connectionFileText(spec);
  fs.mkdirSync(projectDir, { recursive: true });
  fs.writeFileSync(file, text, { flag: 'wx' });
  const lookup = (secret: string): string | undefined => store.get(secret);
  try {
    parseConnection(text, file, (raw, line) => resolveSecrets(raw, lookup, { file, line }));
  } catch (e) {
    fs.rmSync(file, { force: true });
    throw e;
  }
  return { file, text };
}

function printNextSteps(out: (line: string) => void, name: string, purpose: 'ingest' | 'sink', bucket: string): void {
  out('Next steps:');
  if (purpose === 'ingest') {
    out(`  1. Create a data source that reads from it: s3c datasource create --s3, or a .datasource file with`);
    out(`       IMPORT_CONNECTION_NAME ${name}`);
    out(`       IMPORT_BUCKET_URI s3://${bucket}/*.csv`);
  } else {
    out(`  1. Use the connection ${name} where files are written to s3://${bucket}/.`);
  }
  out('  2. Check the project: s3c deploy --check');
  out('  3. See the connection: s3c connection ls');
}
