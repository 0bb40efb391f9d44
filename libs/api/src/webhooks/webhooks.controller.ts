import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { KilnError, SecretBox } from '@kiln/core';
import { ScriptRepository, WebhookDeliveryRepository, WebhookSubscriptionRepository, type WebhookSubscriptionChanges } from '@kiln/db';
import { generateWebhookSecret } from '@kiln/webhooks';
import type { AuthContext } from '../auth/auth-context';
import { Auth, RequireScopes } from '../auth/auth.decorators';
import { LIST_TOTAL_CAP, pageQuery, type PageQuery } from '../http/page-query';
import { uuidParam } from '../http/uuid-param';
import { ZodPipe } from '../http/zod-body.pipe';
import {
  createWebhookBody,
  replayBody,
  subscriptionDeliveriesQuery,
  updateWebhookBody,
  type CreateWebhookBody,
  type ReplayBody,
  type SubscriptionDeliveriesQuery,
  type UpdateWebhookBody,
} from './webhook.dto';
import { WebhookUrlGuard } from './webhook-url-guard';
import { WebhookDispatch } from './webhook-dispatch';
import { deliveryView, subscriptionView } from './webhook-views';

/** One replay call re-sends at most this many deliveries; call again for the rest. */
export const REPLAY_LIMIT = 10_000;

@Controller('v1/webhooks')
@RequireScopes('webhooks.manage')
export class WebhooksController {
  constructor(
    private readonly subscriptions: WebhookSubscriptionRepository,
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly scripts: ScriptRepository,
    private readonly box: SecretBox,
    private readonly urlGuard: WebhookUrlGuard,
    private readonly dispatch: WebhookDispatch,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Auth() auth: AuthContext, @Body(new ZodPipe(createWebhookBody)) body: CreateWebhookBody) {
    await this.urlGuard.check('url', body.url);
    const scriptId = await this.resolveScript(auth.tenantId, body.scriptId ?? null);
    const secret = body.secret ?? generateWebhookSecret();
    const created = await this.subscriptions.create({
      tenantId: auth.tenantId,
      url: body.url,
      events: body.events,
      secretEnc: this.box.seal(secret),
      scriptId,
    });
    // A generated secret is shown here, once; a secret the client chose is not echoed.
    return { ...subscriptionView(created), ...(body.secret === undefined ? { secret } : {}) };
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query(new ZodPipe(pageQuery, 'query')) page: PageQuery) {
    const { items, total } = await this.subscriptions.list(auth.tenantId, page);
    return { items: items.map(subscriptionView), total, limit: page.limit, offset: page.offset };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', uuidParam('Webhook')) id: string) {
    const found = await this.subscriptions.findById(auth.tenantId, id);
    if (!found) throw KilnError.notFound('Webhook', id);
    return subscriptionView(found);
  }

  @Patch(':id')
  async update(@Auth() auth: AuthContext, @Param('id', uuidParam('Webhook')) id: string, @Body(new ZodPipe(updateWebhookBody)) body: UpdateWebhookBody) {
    const existing = await this.subscriptions.findById(auth.tenantId, id);
    if (!existing) throw KilnError.notFound('Webhook', id);
    if (body.url !== undefined) await this.urlGuard.check('url', body.url);
    const newSecret = body.rotateSecret ? generateWebhookSecret() : (body.secret ?? null);
    const changes: WebhookSubscriptionChanges = {
      ...(body.url !== undefined ? { url: body.url } : {}),
      ...(body.events !== undefined ? { events: body.events } : {}),
      ...(body.scriptId !== undefined ? { scriptId: await this.resolveScript(auth.tenantId, body.scriptId) } : {}),
      ...(body.active !== undefined ? { active: body.active } : {}),
      ...(newSecret !== null ? { secretEnc: this.box.seal(newSecret) } : {}),
    };
    const updated = await this.subscriptions.update(auth.tenantId, id, changes);
    if (!updated) throw KilnError.notFound('Webhook', id);
    return { ...subscriptionView(updated), ...(body.rotateSecret && newSecret !== null ? { secret: newSecret } : {}) };
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Auth() auth: AuthContext, @Param('id', uuidParam('Webhook')) id: string): Promise<void> {
    if (!(await this.subscriptions.delete(auth.tenantId, id))) throw KilnError.notFound('Webhook', id);
  }

  @Get(':id/deliveries')
  async deliveriesOf(
    @Auth() auth: AuthContext,
    @Param('id', uuidParam('Webhook')) id: string,
    @Query(new ZodPipe(subscriptionDeliveriesQuery, 'query')) query: SubscriptionDeliveriesQuery,
  ) {
    if (!(await this.subscriptions.findById(auth.tenantId, id))) throw KilnError.notFound('Webhook', id);
    const { items, total, totalExact } = await this.deliveries.list(auth.tenantId, { subscriptionId: id, status: query.status }, query, { countUpTo: LIST_TOTAL_CAP });
    return { items: items.map((d) => deliveryView(d)), total, totalExact, limit: query.limit, offset: query.offset };
  }

  /** Re-sends every failed delivery of this subscription created in [since, until]. */
  @Post(':id/replay')
  @HttpCode(202)
  async replay(@Auth() auth: AuthContext, @Param('id', uuidParam('Webhook')) id: string, @Body(new ZodPipe(replayBody)) body: ReplayBody) {
    const subscription = await this.subscriptions.findById(auth.tenantId, id);
    if (!subscription) throw KilnError.notFound('Webhook', id);
    if (!subscription.active) {
      throw KilnError.conflict('WEBHOOK_DISABLED', 'The subscription is disabled; re-enable it (PATCH {"active": true}) before replaying', {
        disabledReason: subscription.disabledReason,
      });
    }
    const rows = await this.deliveries.replayFailed(auth.tenantId, id, new Date(body.since), body.until ? new Date(body.until) : null, REPLAY_LIMIT);
    await this.dispatch.enqueue(rows.map((r) => ({ deliveryId: r.id, attempt: r.attempts })));
    return { replayed: rows.length, limit: REPLAY_LIMIT, since: body.since, until: body.until ?? null };
  }

  private async resolveScript(tenantId: string, ref: string | null): Promise<string | null> {
    if (ref === null) return null;
    const script = await this.scripts.findByIdOrName(tenantId, ref);
    if (!script) throw KilnError.validation([{ field: 'scriptId', message: `no script '${ref}' in this tenant` }]);
    return script.id;
  }
}
