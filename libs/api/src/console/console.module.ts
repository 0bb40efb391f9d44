import { Module } from '@nestjs/common';
import { ApiCoreModule } from '../api-core.module';
import { registerCookieAuth } from '../auth/api-key.guard';
import { ConsoleAuthController } from './console-auth.controller';
import { ConsoleScriptsController } from './console-scripts.controller';
import { CONSOLE_COOKIE, CONSOLE_PATHS } from './console-security';

// The API key guard reads the console cookie on the console's paths, and
// only there: everywhere else a key still has to be sent explicitly, so the
// cookie can never authorise a cross-site request to the JSON API.
for (const prefix of CONSOLE_PATHS) registerCookieAuth(prefix, CONSOLE_COOKIE);

/**
 * The web console (SPEC §10, document 001): server-rendered HTML with htmx
 * at /scripts, sign-in at /console/login, static files under
 * /console/assets/ (registered in gateway-app.ts). Thin HTML adapters over
 * ScriptsService, RunsService and the repositories. See docs/console.md.
 */
@Module({
  imports: [ApiCoreModule],
  controllers: [ConsoleAuthController, ConsoleScriptsController],
})
export class ConsoleModule {}
