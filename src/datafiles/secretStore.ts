/**
 * The local secrets store behind `s3c secret set|ls|rm` (SPEC R1.1, R11): a
 * JSON file readable only by its owner. Secrets resolve from this store first,
 * then from the environment.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { secretsPath } from '../util/stateLayout';
import { SECRET_NAME_PATTERN, type SecretLookup } from './secrets';
import { S3cError } from '../util/errors';

/**
 * Where the store lives inside a project folder: `<project>/.s3c/secrets.json`,
 * or `<project>/.s3c/env/NAME/secrets.json` for a named environment (each
 * environment its own secrets, as the reference's Local and Cloud).
 */
export function defaultSecretsFile(projectDir: string = process.cwd(), environment?: string): string {
  return secretsPath(projectDir, environment);
}

/** Raised for an invalid secret name or an unreadable store; never carries a secret value. */
export class SecretStoreError extends S3cError {
  /** Discriminator. */
  readonly type = 'SecretStoreError' as const;
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = 'SecretStoreError';
  }
}

interface StoreFile {
  version: 1;
  secrets: Record<string, string>;
}

/**
 * Secrets in a JSON file (`{"version":1,"secrets":{...}}`), written atomically
 * with mode 0600 in a folder created with mode 0700. Every call reads the file
 * afresh, so several processes see each other's changes.
 */
export class SecretStore {
  /** Path of the JSON file. */
  readonly file: string;

  /** @param file - the JSON file; defaults to `.s3c/secrets.json` under the current folder. */
  constructor(file: string = defaultSecretsFile()) {
    this.file = file;
  }

  /**
   * Sets (or replaces) a secret.
   * @throws SecretStoreError when the name breaks `^[A-Za-z_][A-Za-z0-9_]*$` or the store cannot be read.
   */
  set(name: string, value: string): void {
    checkName(name);
    const data = this.read();
    data.secrets[name] = value;
    this.write(data);
  }

  /**
   * The secret's value, or undefined when it is not set.
   * @throws SecretStoreError when the name is invalid or the store cannot be read.
   */
  get(name: string): string | undefined {
    checkName(name);
    const secrets = this.read().secrets;
    return Object.hasOwn(secrets, name) ? secrets[name] : undefined;
  }

  /** The names of the stored secrets, sorted; never their values. */
  list(): string[] {
    return Object.keys(this.read().secrets).sort();
  }

  /**
   * Removes a secret.
   * @returns true when it existed.
   */
  remove(name: string): boolean {
    checkName(name);
    const data = this.read();
    if (!Object.hasOwn(data.secrets, name)) return false;
    delete data.secrets[name];
    this.write(data);
    return true;
  }

  private read(): StoreFile {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, secrets: {} };
      throw new SecretStoreError(
        `Cannot read the secrets store ${this.file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // JSON.parse's own message can quote the file's content: do not pass it on.
      throw new SecretStoreError(`The secrets store ${this.file} is not valid JSON; fix or delete it`);
    }
    const secrets = (parsed as { secrets?: unknown } | null)?.secrets;
    if (
      typeof secrets !== 'object' ||
      secrets === null ||
      Array.isArray(secrets) ||
      Object.values(secrets).some((v) => typeof v !== 'string')
    ) {
      throw new SecretStoreError(
        `The secrets store ${this.file} is not a {"secrets": {NAME: "value"}} object; fix or delete it`,
      );
    }
    return { version: 1, secrets: { ...(secrets as Record<string, string>) } };
  }

  private write(data: StoreFile): void {
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    try {
      fs.writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      fs.chmodSync(tmp, 0o600); // the umask may have narrowed or a stale mode survived
      fs.renameSync(tmp, this.file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new SecretStoreError(
        `Cannot write the secrets store ${this.file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }
}

function checkName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name)) {
    throw new SecretStoreError(
      `Invalid secret name ${JSON.stringify(name)}: expected letters, digits and _, not starting with a digit (^[A-Za-z_][A-Za-z0-9_]*$)`,
    );
  }
}

/**
 * A {@link SecretLookup} that asks the store first, then the environment
 * variable of the same name.
 */
export function secretLookup(store: Pick<SecretStore, 'get'>, env: NodeJS.ProcessEnv = process.env): SecretLookup {
  return (name) => store.get(name) ?? env[name];
}
