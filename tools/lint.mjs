// npm run lint: type-check and lint (including Nx module boundaries).
import { ensureDependencies, generatePrismaClient, lint, say, typecheck } from './lib/steps.mjs';

await ensureDependencies();
await generatePrismaClient();
await typecheck();
await lint();
say('lint clean');
