import { Body, Controller, Get, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { hasScope, KilnError } from '@kiln/core';
import { InjectConfig } from '@kiln/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyResolver } from '../auth/api-key-resolver';
import { Public } from '../auth/auth.decorators';
import { checkSameOrigin } from './console-csrf.guard';
import { ConsoleExceptionFilter, sendHtml } from './console-exception.filter';
import { applySecurityHeaders, clearedSessionCookie, CSRF_FIELD, csrfTokenMatches, isSecureRequest, safeNext, sessionCookie } from './console-security';
import { cookieKey } from './console-session';
import { loginPage } from './console-views';

type FormBody = Record<string, unknown> | undefined;

function field(body: FormBody, name: string): string | undefined {
  const value = body?.[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Console sign-in (SPEC §10): an API key, checked like any API request,
 * then kept in an HttpOnly, SameSite=Strict cookie (Secure over https).
 * These routes are public; the console pages read the cookie through the
 * API key guard (see console.module.ts).
 */
@Controller('console')
@Public()
@UseFilters(ConsoleExceptionFilter)
export class ConsoleAuthController {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    private readonly keys: ApiKeyResolver,
  ) {}

  @Get()
  home(@Res() reply: FastifyReply): void {
    applySecurityHeaders(reply);
    void reply.status(303).header('Location', '/scripts').send('');
  }

  @Get('login')
  form(@Query('next') next: unknown, @Res() reply: FastifyReply): void {
    sendHtml(reply, 200, loginPage({ next: safeNext(next) }));
  }

  @Post('login')
  async login(@Req() request: FastifyRequest, @Body() body: FormBody, @Res() reply: FastifyReply): Promise<void> {
    // No session yet, so no token to check: a sign-in posted from another site is refused by origin.
    checkSameOrigin(request, this.config.http.publicUrl);
    const next = safeNext(field(body, 'next'));
    const key = (field(body, 'apiKey') ?? '').trim();
    let failure: { status: number; message: string } | null = null;
    try {
      const auth = await this.keys.resolve(key || undefined);
      if (!hasScope(auth.scopes, 'scripts.read')) failure = { status: 403, message: 'This key lacks the scripts.read scope the console needs.' };
    } catch (err) {
      if (!(err instanceof KilnError) || (err.statusCode !== 401 && err.statusCode !== 403)) throw err;
      failure = { status: err.statusCode, message: err.statusCode === 401 ? 'That API key is not valid.' : err.message };
    }
    if (failure) {
      sendHtml(reply, failure.status, loginPage({ error: failure.message, next }));
      return;
    }
    applySecurityHeaders(reply);
    void reply
      .status(303)
      .header('Set-Cookie', sessionCookie(key, isSecureRequest(request, this.config.http.publicUrl)))
      .header('Location', next)
      .send('');
  }

  @Post('logout')
  logout(@Req() request: FastifyRequest, @Body() body: FormBody, @Res() reply: FastifyReply): void {
    checkSameOrigin(request, this.config.http.publicUrl);
    const key = cookieKey(request);
    const presented = (typeof request.headers['x-csrf-token'] === 'string' ? request.headers['x-csrf-token'] : undefined) ?? field(body, CSRF_FIELD);
    // Only the console itself may sign a session out (else any site could log users out).
    if (key && !csrfTokenMatches(key, presented)) throw KilnError.forbidden('Sign-out did not come from the console (CSRF token missing or wrong)', 'CSRF_REJECTED');
    applySecurityHeaders(reply);
    void reply
      .status(303)
      .header('Set-Cookie', clearedSessionCookie(isSecureRequest(request, this.config.http.publicUrl)))
      .header('Location', '/console/login')
      .send('');
  }
}
