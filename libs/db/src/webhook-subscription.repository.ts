import { Injectable } from '@nestjs/common';
import { Database } from './database';
import type { WebhookSubscription } from './generated/prisma/client';

export type { WebhookSubscription };

export interface NewWebhookSubscription {
  tenantId: string;
  url: string;
  events: string[];
  secretEnc: string;
  scriptId: string | null;
}

export interface WebhookSubscriptionChanges {
  url?: string;
  events?: string[];
  secretEnc?: string;
  scriptId?: string | null;
  /** true re-enables (clearing why it was disabled); false disables with `disabledReason`. */
  active?: boolean;
  disabledReason?: string;
}

/**
 * Subscriptions of `/v1/webhooks`. Every query is scoped by tenant: another
 * tenant's id is simply not found. Matching subscriptions to events happens
 * in SQL when an execution changes status (see webhook-outbox.ts).
 */
@Injectable()
export class WebhookSubscriptionRepository {
  constructor(private readonly db: Database) {}

  create(data: NewWebhookSubscription): Promise<WebhookSubscription> {
    return this.db.prisma.webhookSubscription.create({ data });
  }

  async list(tenantId: string, page: { limit: number; offset: number }): Promise<{ items: WebhookSubscription[]; total: number }> {
    const where = { tenantId };
    const [items, total] = await this.db.prisma.$transaction([
      this.db.prisma.webhookSubscription.findMany({ where, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: page.limit, skip: page.offset }),
      this.db.prisma.webhookSubscription.count({ where }),
    ]);
    return { items, total };
  }

  findById(tenantId: string, id: string): Promise<WebhookSubscription | null> {
    return this.db.prisma.webhookSubscription.findFirst({ where: { id, tenantId } });
  }

  async update(tenantId: string, id: string, changes: WebhookSubscriptionChanges): Promise<WebhookSubscription | null> {
    const { active, disabledReason, ...fields } = changes;
    const state =
      active === undefined
        ? {}
        : active
          ? { active: true, disabledAt: null, disabledReason: null }
          : { active: false, disabledAt: new Date(), disabledReason: disabledReason ?? 'disabled through the API' };
    const result = await this.db.prisma.webhookSubscription.updateMany({ where: { id, tenantId }, data: { ...fields, ...state } });
    return result.count === 0 ? null : this.findById(tenantId, id);
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    const result = await this.db.prisma.webhookSubscription.deleteMany({ where: { id, tenantId } });
    return result.count > 0;
  }
}
