import { Client } from 'pg';
import { testEnv, uniqueSuffix } from './test-env';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function adminQuery(sql: string, params: unknown[] = []): Promise<void> {
  const client = new Client({ connectionString: testEnv().adminDatabaseUrl });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database cloned from this run's template; drop() removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const env = testEnv();
  const name = `kiln_t_${env.runId}_${uniqueSuffix()}`;
  // CREATE DATABASE … TEMPLATE fails while anyone else is connected to the
  // template; a parallel test file may be cloning it right now, so retry.
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${env.templateDatabase}"`);
      break;
    } catch (err) {
      if (attempt >= 20 || !/being accessed by other users/.test((err as Error).message)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 + attempt * 50));
    }
  }
  return {
    name,
    url: withDatabase(env.adminDatabaseUrl, name),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
