// npm run build: install if needed, generate the Prisma client, compile to dist/.
import { compile, ensureDependencies, generatePrismaClient, say } from './lib/steps.mjs';

await ensureDependencies();
await generatePrismaClient();
await compile();
say('build complete: dist/');
