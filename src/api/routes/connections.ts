/** `/v0/connections`: the deployed connections, how they authenticate, never their secrets. */
import { Hono } from 'hono';
import { readDeployment, type DeployedConnection } from '../../deploy/store';
import type { ApiDeps } from '../deps';

export function connectionRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.get('/', (c) => {
    const deployment = readDeployment(deps.projectDir, deps.workspace.workspace, deps.workspace.environment);
    const connections = Object.values(deployment.connections)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((conn) => ({
        name: conn.name,
        type: 's3',
        region: conn.region,
        auth: authKind(conn),
        role_account_id: conn.roleAccountId ?? null,
        endpoint: conn.endpoint ? safeEndpoint(conn.endpoint) : null,
      }));
    return c.json({ connections });
  });
  return app;
}

/** How a deployed connection authenticates, read from its text (never its values). */
function authKind(conn: DeployedConnection): 'iam_role' | 'static_keys' | 'default_credentials' {
  if (conn.roleAccountId !== undefined || /^\s*S3_ARN\b/m.test(conn.text)) return 'iam_role';
  if (/^\s*S3_ACCESS_KEY\b/m.test(conn.text)) return 'static_keys';
  return 'default_credentials';
}

function safeEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}
