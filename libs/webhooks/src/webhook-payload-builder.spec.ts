import { buildWebhookPayload, DEFAULT_MAX_OUTPUT_BYTES, serializePayload, type WebhookPayload } from './index';

const base = {
  executionId: '16cf01cc-e0b6-49a6-bb8e-5b23475a0957',
  scriptId: '7a1e2b44-52f1-4e36-9c1e-2a4f0a1d9b10',
  timestamp: '2025-10-23T14:32:10.234Z',
  executionUrl: 'https://kiln.example.com/v1/executions/16cf01cc-e0b6-49a6-bb8e-5b23475a0957',
} as const;

describe('buildWebhookPayload', () => {
  it('builds the SPEC §6 object for a completed run, keys in SPEC order', () => {
    const payload = buildWebhookPayload({
      ...base,
      event: 'execution.completed',
      data: {
        status: 'completed',
        startedAt: '2025-10-23T14:30:45.067Z',
        completedAt: '2025-10-23T14:32:10.234Z',
        output: { successCount: 3, failedCount: 0 },
      },
    });
    expect(serializePayload(payload)).toBe(
      '{"event":"execution.completed","executionId":"16cf01cc-e0b6-49a6-bb8e-5b23475a0957",' +
        '"scriptId":"7a1e2b44-52f1-4e36-9c1e-2a4f0a1d9b10","workflowId":"7a1e2b44-52f1-4e36-9c1e-2a4f0a1d9b10",' +
        '"timestamp":"2025-10-23T14:32:10.234Z","data":{"status":"completed","startedAt":"2025-10-23T14:30:45.067Z",' +
        '"completedAt":"2025-10-23T14:32:10.234Z","output":{"successCount":3,"failedCount":0}}}',
    );
    expect(Object.keys(payload)).toEqual(['event', 'executionId', 'scriptId', 'workflowId', 'timestamp', 'data']);
    expect(Object.keys(payload.data)).toEqual(['status', 'startedAt', 'completedAt', 'output']);
  });

  it('carries error (and no output) for a failed run', () => {
    const error = { code: 'TIMEOUT', message: 'Execution exceeded 30000 ms' };
    const payload = buildWebhookPayload({
      ...base,
      event: 'execution.failed',
      data: { status: 'failed', startedAt: base.timestamp, completedAt: base.timestamp, error },
    });
    expect(payload.data).toEqual({ status: 'failed', startedAt: base.timestamp, completedAt: base.timestamp, error });
    expect('output' in payload.data).toBe(false);
  });

  it('has neither output nor error when the run has just started; Dates become ISO strings', () => {
    const payload = buildWebhookPayload({
      ...base,
      event: 'execution.started',
      timestamp: new Date(Date.UTC(2025, 9, 23, 14, 30, 45, 67)),
      data: { status: 'running', startedAt: new Date(Date.UTC(2025, 9, 23, 14, 30, 45, 67)), completedAt: null },
    });
    expect(payload.timestamp).toBe('2025-10-23T14:30:45.067Z');
    expect(payload.data).toEqual({ status: 'running', startedAt: '2025-10-23T14:30:45.067Z', completedAt: null });
    expect(Object.keys(payload.data)).toEqual(['status', 'startedAt', 'completedAt']);
  });

  it('keeps a null output (a script may return null)', () => {
    const payload = buildWebhookPayload({
      ...base,
      event: 'execution.completed',
      data: { status: 'completed', startedAt: null, completedAt: null, output: null },
    });
    expect(serializePayload(payload)).toContain('"output":null}');
    expect('outputTruncated' in payload.data).toBe(false);
  });

  it('repeats scriptId as workflowId, null for ad-hoc runs', () => {
    const payload = buildWebhookPayload({
      ...base,
      scriptId: null,
      event: 'execution.cancelled',
      data: { status: 'cancelled', startedAt: null, completedAt: base.timestamp },
    });
    expect(payload.scriptId).toBeNull();
    expect(payload.workflowId).toBeNull();
  });

  describe('output size limit (256 KiB by default, measured in serialized UTF-8 bytes)', () => {
    const completed = (output: string, extra: { executionUrl?: string; maxOutputBytes?: number } = {}) =>
      buildWebhookPayload({
        executionId: base.executionId,
        scriptId: base.scriptId,
        timestamp: base.timestamp,
        event: 'execution.completed',
        data: { status: 'completed', startedAt: base.timestamp, completedAt: base.timestamp, output },
        ...extra,
      });

    it('is 256 KiB', () => {
      expect(DEFAULT_MAX_OUTPUT_BYTES).toBe(262_144);
    });

    it('keeps an output of exactly 256 KiB inline', () => {
      const output = 'x'.repeat(262_144 - 2); // + 2 quotes = 262 144 bytes
      const payload = completed(output, { executionUrl: base.executionUrl });
      expect(payload.data.output).toBe(output);
      expect('outputTruncated' in payload.data).toBe(false);
      expect('outputUrl' in payload.data).toBe(false);
    });

    it('replaces an output one byte over by null + outputTruncated + outputUrl', () => {
      const payload = completed('x'.repeat(262_144 - 1), { executionUrl: base.executionUrl });
      expect(payload.data).toEqual({
        status: 'completed',
        startedAt: base.timestamp,
        completedAt: base.timestamp,
        output: null,
        outputTruncated: true,
        outputUrl: base.executionUrl,
      });
      expect(Object.keys(payload.data)).toEqual([
        'status',
        'startedAt',
        'completedAt',
        'output',
        'outputTruncated',
        'outputUrl',
      ]);
      expect(Buffer.byteLength(serializePayload(payload))).toBeLessThan(1024);
    });

    it('counts bytes, not characters', () => {
      // 131 072 two-byte characters: 131 074 characters serialized, but 262 146 bytes.
      expect(completed('é'.repeat(131_071)).data.outputTruncated).toBeUndefined();
      expect(completed('é'.repeat(131_072)).data.outputTruncated).toBe(true);
    });

    it('omits outputUrl when no executionUrl is known', () => {
      const payload = completed('x'.repeat(300_000));
      expect(payload.data.output).toBeNull();
      expect(payload.data.outputTruncated).toBe(true);
      expect('outputUrl' in payload.data).toBe(false);
    });

    it('honours a custom limit and rejects a nonsensical one', () => {
      expect(completed('abcd', { maxOutputBytes: 5 }).data.outputTruncated).toBe(true);
      expect(completed('abc', { maxOutputBytes: 5 }).data.output).toBe('abc');
      expect(() => completed('a', { maxOutputBytes: -1 })).toThrow(RangeError);
      expect(() => completed('a', { maxOutputBytes: 1.5 })).toThrow(RangeError);
    });
  });
});

describe('serializePayload', () => {
  it('emits SPEC key order even when the object was reordered (as PostgreSQL jsonb does)', () => {
    const payload = buildWebhookPayload({
      ...base,
      event: 'execution.completed',
      data: { status: 'completed', startedAt: base.timestamp, completedAt: base.timestamp, output: { b: 1, a: 2 } },
    });
    const shuffled = JSON.parse(
      JSON.stringify({
        data: { output: { b: 1, a: 2 }, completedAt: base.timestamp, status: 'completed', startedAt: base.timestamp },
        workflowId: base.scriptId,
        timestamp: base.timestamp,
        scriptId: base.scriptId,
        executionId: base.executionId,
        event: 'execution.completed',
      }),
    ) as WebhookPayload;
    expect(serializePayload(shuffled)).toBe(serializePayload(payload));
    expect(serializePayload(payload)).toBe(JSON.stringify(payload));
  });
});
