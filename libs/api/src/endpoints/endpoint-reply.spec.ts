import type { ExecutionView } from '@kiln/core';
import { isShapedResponse, toEndpointReply } from './endpoint-reply';

const id = '0190f000-0000-7000-8000-000000000001';

function view(partial: Partial<ExecutionView>): ExecutionView {
  return {
    id,
    status: 'completed',
    scriptId: null,
    scriptVersion: null,
    trigger: { type: 'http' },
    input: null,
    output: null,
    logs: [],
    logsTruncated: false,
    error: null,
    attempts: 1,
    workerId: 'w',
    retryOf: null,
    metadata: null,
    approval: null,
    approvalStatus: null,
    approvalComment: null,
    createdAt: new Date(0).toISOString(),
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    queueWaitMs: null,
    ...partial,
  };
}

describe('endpoint replies', () => {
  it('tells a shaped response from a plain JSON value', () => {
    expect(isShapedResponse({ status: 201, body: 'x' })).toBe(true);
    expect(isShapedResponse({ body: null })).toBe(true);
    expect(isShapedResponse({ statusCode: 404 })).toBe(true);
    expect(isShapedResponse({ status: 'ok' })).toBe(false);
    expect(isShapedResponse({ status: 200, data: 1 })).toBe(false);
    expect(isShapedResponse([{ body: 1 }])).toBe(false);
    expect(isShapedResponse({})).toBe(false);
    expect(isShapedResponse('text')).toBe(false);
  });

  it('answers a JSON value with 200 and the execution id', () => {
    expect(toEndpointReply(id, view({ output: { ok: true } }), 1000)).toEqual({
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-kiln-execution-id': id },
      body: '{"ok":true}',
    });
    expect(toEndpointReply(id, view({ output: null }), 1000).body).toBe('null');
    expect(toEndpointReply(id, view({ output: { status: 'ok' } }), 1000)).toMatchObject({ status: 200, body: '{"status":"ok"}' });
  });

  it('applies status, headers and body, drops hop-by-hop headers, defaults the content type', () => {
    const reply = toEndpointReply(
      id,
      view({ output: { status: 201, headers: { 'X-A': 'b', 'Set-Cookie': ['a=1', 'b=2'], Connection: 'close', 'Transfer-Encoding': 'chunked', 'Content-Length': '5', 'X-Kiln-Execution-Id': 'spoofed', 'X-N': 3 }, body: 'hi' } }),
      1000,
    );
    expect(reply).toEqual({
      status: 201,
      headers: { 'x-a': 'b', 'set-cookie': ['a=1', 'b=2'], 'x-n': '3', 'x-kiln-execution-id': id, 'content-type': 'text/plain; charset=utf-8' },
      body: 'hi',
    });
    expect(toEndpointReply(id, view({ output: { body: { a: 1 }, headers: { 'Content-Type': 'application/hal+json' } } }), 1000)).toMatchObject({
      status: 200,
      headers: { 'content-type': 'application/hal+json' },
      body: '{"a":1}',
    });
    expect(toEndpointReply(id, view({ output: { status: 204, body: 'ignored' } }), 1000)).toMatchObject({ status: 204, body: null });
    expect(toEndpointReply(id, view({ output: { statusCode: 302, headers: { location: '/next' } } }), 1000)).toMatchObject({ status: 302, headers: { location: '/next' }, body: null });
  });

  it.each([
    [{ status: 99, body: '' }, 'status must be an integer from 100 to 599'],
    [{ status: 600, body: '' }, 'status must be an integer from 100 to 599'],
    [{ status: 200.5, body: '' }, 'status must be an integer from 100 to 599'],
    [{ status: 200, headers: 'x', body: '' }, 'headers must be an object'],
    [{ headers: { 'bad name': 'x' }, body: '' }, "'bad name' is not a valid header name"],
    [{ headers: { 'x-a': 'a\r\nInjected: 1' }, body: '' }, "header 'x-a' contains a control character"],
    [{ headers: { 'x-a': { nested: true } }, body: '' }, "header 'x-a' must be a string"],
  ])('answers 502 INVALID_RESPONSE for %j', (output, message) => {
    const reply = toEndpointReply(id, view({ output }), 1000);
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body ?? '')).toEqual({
      error: { code: 'INVALID_RESPONSE', message: expect.stringContaining(message), statusCode: 502, details: { executionId: id } },
    });
  });

  it('maps failures: 504 for TIMEOUT or no answer in time, 502 otherwise, 202 for approvals', () => {
    expect(toEndpointReply(id, view({ status: 'failed', error: { code: 'TIMEOUT', message: 'Script exceeded the time limit of 500 ms' } }), 1000)).toMatchObject({ status: 504 });
    const failed = toEndpointReply(id, view({ status: 'failed', error: { code: 'EXECUTION_ERROR', message: 'Error: nope', stack: 'Error: nope\n    at script.js:1:7' } }), 1000);
    expect(failed.status).toBe(502);
    expect(failed.body).not.toContain('script.js');
    expect(JSON.parse(failed.body ?? '').error).toMatchObject({ code: 'EXECUTION_ERROR', message: 'Error: nope' });
    expect(toEndpointReply(id, view({ status: 'failed', error: { code: 'MEMORY_LIMIT', message: 'm' } }), 1000).status).toBe(502);
    expect(toEndpointReply(id, view({ status: 'cancelled' }), 1000)).toMatchObject({ status: 502 });
    expect(toEndpointReply(id, view({ status: 'pending_approval' }), 1000)).toMatchObject({ status: 202, body: JSON.stringify({ executionId: id, status: 'pending_approval' }) });
    const late = toEndpointReply(id, null, 35_000);
    expect(late.status).toBe(504);
    expect(JSON.parse(late.body ?? '').error).toMatchObject({ code: 'ENDPOINT_TIMEOUT', message: expect.stringContaining('35000 ms') });
  });
});
