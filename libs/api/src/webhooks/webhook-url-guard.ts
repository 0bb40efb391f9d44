import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { KilnError } from '@kiln/core';
import { OutboundClient, OutboundError, parseAllowList } from '@kiln/outbound';
import { InjectConfig } from '@kiln/platform';

// A slow resolver must not hold a request; the delivery-time check still runs.
const RESOLVE_BUDGET_MS = 3_000;

/**
 * Subscribe-time SSRF check for every webhook URL a client gives us
 * (subscriptions, API-key webhooks, a run's webhookUrl): the same guard and
 * allow-list (KILN_OUTBOUND_ALLOW) as delivery. A URL that points at a
 * loopback, private, link-local or metadata address is a 400 naming the
 * field. A name that does not resolve (yet) is accepted: every delivery
 * resolves and checks again, on the address it then connects to.
 */
@Injectable()
export class WebhookUrlGuard implements OnModuleDestroy {
  private readonly client: OutboundClient;

  constructor(@InjectConfig() config: KilnConfig) {
    this.client = new OutboundClient({ allow: parseAllowList(config.runs.outboundAllow) });
  }

  async check(field: string, url: string | null | undefined): Promise<void> {
    if (url === null || url === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.assertAllowedUrl(url),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, RESOLVE_BUDGET_MS);
        }),
      ]);
    } catch (err) {
      if (err instanceof OutboundError && (err.code === 'SSRF_BLOCKED' || err.code === 'INVALID_URL')) {
        throw KilnError.validation([{ field, message: err.message, code: err.code }], `${field} is not an allowed webhook destination`);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.client.close();
  }
}
