import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { apiKeyPrefix, DEFAULT_SCOPES, generateApiKey, hashApiKey, hasScope, KilnError, SCOPES, SecretBox, type Scope } from '@kiln/core';
import { ApiKeyRepository, TenantRepository, type ApiKey, type ApiKeyChanges } from '@kiln/db';
import { generateWebhookSecret, WEBHOOK_EVENTS } from '@kiln/webhooks';
import { z } from 'zod';
import { ApiKeyResolver } from '../auth/api-key-resolver';
import type { AuthContext } from '../auth/auth-context';
import { Auth, RequireScopes } from '../auth/auth.decorators';
import { pageQuery } from '../http/page-query';
import { ZodPipe } from '../http/zod-body.pipe';
import { uuidParam } from '../http/uuid-param';
import { WebhookUrlGuard } from '../webhooks/webhook-url-guard';
import { ExecutionQuotas } from '../limits/execution-quotas';

const scopeList = z.array(z.enum(SCOPES)).max(SCOPES.length);

const keyWebhook = z.object({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).default([...WEBHOOK_EVENTS]),
  secret: z.string().min(16).max(200).optional(),
});

const keyFields = {
  name: z.string().trim().min(1).max(100),
  scopes: scopeList,
  active: z.boolean(),
  expiresAt: z.iso.datetime({ offset: true }).nullable(),
  monthlyExecutionLimit: z.number().int().min(0).max(1_000_000_000).nullable(),
  rateLimit: z
    .object({ burst: z.number().int().min(1).max(1_000_000), refillPerSecond: z.number().positive().max(1_000_000) })
    .nullable(),
  webhook: keyWebhook.nullable(),
};

export const createKeyBody = z.object({
  ...keyFields,
  name: keyFields.name.default('api key'),
  scopes: scopeList.optional(),
  active: keyFields.active.default(true),
  expiresAt: keyFields.expiresAt.optional(),
  monthlyExecutionLimit: keyFields.monthlyExecutionLimit.optional(),
  rateLimit: keyFields.rateLimit.optional(),
  webhook: keyFields.webhook.optional(),
  tenantId: z.uuid().optional(),
});

export const updateKeyBody = z.object(keyFields).partial().strict();

const listKeysQuery = pageQuery.extend({ tenantId: z.uuid().optional() });

export function apiKeyView(k: ApiKey) {
  return {
    id: k.id,
    tenantId: k.tenantId,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    active: k.active,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    monthlyExecutionLimit: k.monthlyExecutionLimit,
    rateLimit: k.rateLimitBurst !== null || k.rateLimitRefillPerSecond !== null ? { burst: k.rateLimitBurst, refillPerSecond: k.rateLimitRefillPerSecond } : null,
    webhook: k.webhookUrl ? { url: k.webhookUrl, events: k.webhookEvents, hasSecret: k.webhookSecretEnc !== null } : null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    createdAt: k.createdAt.toISOString(),
  };
}

@Controller('v1/api-keys')
@RequireScopes('keys.manage')
export class ApiKeysController {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly tenants: TenantRepository,
    private readonly resolver: ApiKeyResolver,
    private readonly box: SecretBox,
    private readonly quotas: ExecutionQuotas,
    private readonly webhookUrls: WebhookUrlGuard,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Auth() auth: AuthContext, @Body(new ZodPipe(createKeyBody)) body: z.infer<typeof createKeyBody>) {
    const tenantId = await this.targetTenant(auth, body.tenantId);
    const scopes = body.scopes ?? [...DEFAULT_SCOPES];
    this.assertCanGrant(auth, scopes);
    await this.webhookUrls.check('webhook.url', body.webhook?.url);
    const key = generateApiKey();
    const webhookSecret = body.webhook ? (body.webhook.secret ?? generateWebhookSecret()) : null;
    const record = await this.keys.create({
      tenantId,
      name: body.name,
      prefix: apiKeyPrefix(key),
      keyHash: hashApiKey(key),
      scopes,
      active: body.active,
      expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
      monthlyExecutionLimit: body.monthlyExecutionLimit ?? null,
      rateLimitBurst: body.rateLimit?.burst ?? null,
      rateLimitRefillPerSecond: body.rateLimit?.refillPerSecond ?? null,
      webhookUrl: body.webhook?.url ?? null,
      webhookEvents: body.webhook?.events ?? [],
      webhookSecretEnc: webhookSecret ? this.box.seal(webhookSecret) : null,
    });
    // The key (and a generated webhook secret) are shown once, here.
    return { ...apiKeyView(record), key, ...(webhookSecret && !body.webhook?.secret ? { webhookSecret } : {}) };
  }

  @Get()
  async list(@Auth() auth: AuthContext, @Query(new ZodPipe(listKeysQuery, 'query')) query: z.infer<typeof listKeysQuery>) {
    const tenantId = auth.isAdmin ? (query.tenantId ?? null) : auth.tenantId;
    const { items, total } = await this.keys.list(tenantId, query);
    return { items: items.map(apiKeyView), total, limit: query.limit, offset: query.offset };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', uuidParam('API key')) id: string) {
    const record = await this.keys.findById(auth.isAdmin ? null : auth.tenantId, id);
    if (!record) throw KilnError.notFound('API key', id);
    // This calendar month's (UTC) accepted runs against monthlyExecutionLimit (null = unlimited).
    return { ...apiKeyView(record), usage: await this.quotas.keyUsage(record.id, record.monthlyExecutionLimit) };
  }

  @Patch(':id')
  async update(@Auth() auth: AuthContext, @Param('id', uuidParam('API key')) id: string, @Body(new ZodPipe(updateKeyBody)) body: z.infer<typeof updateKeyBody>) {
    const scope = auth.isAdmin ? null : auth.tenantId;
    const existing = await this.keys.findById(scope, id);
    if (!existing) throw KilnError.notFound('API key', id);
    if (body.scopes) this.assertCanGrant(auth, body.scopes);
    await this.webhookUrls.check('webhook.url', body.webhook?.url);
    const changes: ApiKeyChanges = {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.scopes !== undefined ? { scopes: body.scopes } : {}),
      ...(body.active !== undefined ? { active: body.active } : {}),
      ...(body.expiresAt !== undefined ? { expiresAt: body.expiresAt ? new Date(body.expiresAt) : null } : {}),
      ...(body.monthlyExecutionLimit !== undefined ? { monthlyExecutionLimit: body.monthlyExecutionLimit } : {}),
      ...(body.rateLimit !== undefined
        ? { rateLimitBurst: body.rateLimit?.burst ?? null, rateLimitRefillPerSecond: body.rateLimit?.refillPerSecond ?? null }
        : {}),
    };
    let webhookSecret: string | null = null;
    if (body.webhook !== undefined) {
      if (body.webhook === null) {
        Object.assign(changes, { webhookUrl: null, webhookEvents: [], webhookSecretEnc: null });
      } else {
        const keepSecret = !body.webhook.secret && existing.webhookSecretEnc !== null;
        webhookSecret = keepSecret ? null : (body.webhook.secret ?? generateWebhookSecret());
        Object.assign(changes, {
          webhookUrl: body.webhook.url,
          webhookEvents: body.webhook.events,
          ...(webhookSecret ? { webhookSecretEnc: this.box.seal(webhookSecret) } : {}),
        });
      }
    }
    const updated = await this.keys.update(scope, id, changes);
    if (!updated) throw KilnError.notFound('API key', id);
    await this.resolver.invalidate(updated.keyHash);
    return { ...apiKeyView(updated), ...(webhookSecret && !body.webhook?.secret ? { webhookSecret } : {}) };
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(@Auth() auth: AuthContext, @Param('id', uuidParam('API key')) id: string): Promise<void> {
    const revoked = await this.keys.revoke(auth.isAdmin ? null : auth.tenantId, id);
    if (!revoked) throw KilnError.notFound('API key', id);
    await this.resolver.invalidate(revoked.keyHash);
  }

  private async targetTenant(auth: AuthContext, requested: string | undefined): Promise<string> {
    if (!requested || requested === auth.tenantId) return auth.tenantId;
    // Another tenant's id is "not found" for everyone but an admin.
    if (!auth.isAdmin || !(await this.tenants.findById(requested))) throw KilnError.notFound('Tenant', requested);
    return requested;
  }

  /** A key can hand out only scopes it holds itself; only admins mint admins. */
  private assertCanGrant(auth: AuthContext, scopes: readonly Scope[]): void {
    const beyond = scopes.filter((s) => !hasScope(auth.scopes, s));
    if (beyond.length > 0) throw KilnError.forbidden(`Cannot grant scopes this key does not hold: ${beyond.join(', ')}`, 'MISSING_SCOPE');
  }
}
