import { type ArgumentsHost, Catch, type ExceptionFilter, Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import type { Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger } from '@kiln/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toProblem } from '../http/problem';
import { RateLimitExceeded } from '../limits/rate-limit-exceeded';
import type { SafeHtml } from './console-html';
import { applySecurityHeaders, clearedSessionCookie, header, isHtmx, isSecureRequest, LOGIN_PATH, safeNext } from './console-security';
import { consoleSession, cookieKey } from './console-session';
import { errorFragment, errorPage } from './console-views';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Too large',
  415: 'Unsupported form',
  429: 'Too many requests',
  503: 'Unavailable',
};

function pathOf(url: string | undefined): string {
  if (!url) return '/scripts';
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return '/scripts';
  }
}

export function sendHtml(reply: FastifyReply, status: number, body: SafeHtml | string, options: { editor?: boolean } = {}): void {
  applySecurityHeaders(reply, options);
  void reply.status(status).type('text/html; charset=utf-8').send(String(body));
}

/**
 * Document 001's error table for the console: 401 → the login page (htmx:
 * HX-Redirect), 403 and 404 → their pages, anything else → an error page
 * that never shows internals. An htmx request gets its message as a
 * fragment in the page's #flash area instead of a whole page.
 */
@Catch()
@Injectable()
export class ConsoleExceptionFilter implements ExceptionFilter {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (reply.sent) return;

    if (exception instanceof RateLimitExceeded) {
      void reply.header('Retry-After', String(exception.retryAfterSeconds));
      this.send(request, reply, 429, `Too many requests for this API key; try again in ${exception.retryAfterSeconds} s.`);
      return;
    }
    const problem = toProblem(exception, { bodyLimitBytes: this.config.http.bodyLimitBytes });
    if (problem.statusCode === 401) {
      this.toLogin(request, reply);
      return;
    }
    if (problem.statusCode >= 500) {
      this.logger.error({ err: exception, method: request.method, url: request.url.split('?')[0] }, 'console request failed');
      const message = problem.statusCode === 503 ? problem.message : 'Something went wrong on our side; it has been logged.';
      this.send(request, reply, problem.statusCode, message);
      return;
    }
    this.send(request, reply, problem.statusCode, problem.message);
  }

  private toLogin(request: FastifyRequest, reply: FastifyReply): void {
    applySecurityHeaders(reply);
    // A stale or revoked key in the cookie is dropped, so the login page starts clean.
    if (cookieKey(request)) void reply.header('Set-Cookie', clearedSessionCookie(isSecureRequest(request, this.config.http.publicUrl)));
    // Back to where the user was: the page itself, or for htmx the page the fragment belongs to.
    const next = isHtmx(request) ? pathOf(header(request, 'hx-current-url')) : request.method === 'GET' ? request.url : '/scripts';
    const target = `${LOGIN_PATH}?next=${encodeURIComponent(safeNext(next))}`;
    if (isHtmx(request)) {
      void reply.status(401).header('HX-Redirect', target).type('text/html; charset=utf-8').send('');
      return;
    }
    void reply.status(303).header('Location', target).type('text/html; charset=utf-8').send('');
  }

  private send(request: FastifyRequest, reply: FastifyReply, status: number, message: string): void {
    if (isHtmx(request)) {
      void reply.header('HX-Retarget', '#flash').header('HX-Reswap', 'innerHTML');
      sendHtml(reply, status, errorFragment(status, message));
      return;
    }
    sendHtml(reply, status, errorPage(consoleSession(request), status, TITLES[status] ?? (status >= 500 ? 'Error' : 'Request refused'), message));
  }
}
