import type { FastifyInstance } from 'fastify';

export const ENDPOINT_PREFIX = '/x/';
/** `application/vnd.api+json`, `application/problem+json`, …: JSON like application/json. */
const JSON_SUFFIX = /^[^;]+\+json\s*(;|$)/i;

/**
 * HTTP endpoints accept any content type: Fastify parses application/json,
 * text/plain and (through Nest's adapter) urlencoded forms itself; `+json`
 * types are parsed here as JSON, and every other type reaches the script as
 * text. Fastify has one parser table for the routes Nest registers, so this
 * catch-all checks the URL and keeps answering 415 elsewhere, exactly as
 * before it was installed.
 */
export function installEndpointBodyParser(fastify: FastifyInstance): void {
  if (fastify.hasContentTypeParser('*')) return;
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (!request.url.startsWith(ENDPOINT_PREFIX)) {
      const error = Object.assign(new Error(`Unsupported Media Type: ${String(request.headers['content-type'] ?? '')}`), {
        statusCode: 415,
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      });
      done(error, undefined);
      return;
    }
    const contentType = String(request.headers['content-type'] ?? '');
    if (!JSON_SUFFIX.test(contentType) || body === '') {
      done(null, body);
      return;
    }
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(Object.assign(new Error((err as Error).message), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
    }
  });
}
