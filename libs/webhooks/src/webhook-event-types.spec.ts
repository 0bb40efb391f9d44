import { isWebhookEvent, WEBHOOK_EVENTS } from './index';

describe('webhook events', () => {
  it('are exactly the five SPEC §6 events', () => {
    expect(WEBHOOK_EVENTS).toEqual([
      'execution.started',
      'execution.completed',
      'execution.failed',
      'execution.cancelled',
      'execution.pending_approval',
    ]);
  });

  it('isWebhookEvent accepts each of them and nothing else', () => {
    for (const event of WEBHOOK_EVENTS) expect(isWebhookEvent(event)).toBe(true);
    for (const other of ['execution.running', 'EXECUTION.STARTED', '', 'toString', null, 42, ['execution.started']]) {
      expect(isWebhookEvent(other)).toBe(false);
    }
  });
});
