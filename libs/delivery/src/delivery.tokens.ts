/** The notifier's own OutboundClient (webhook timeouts, no redirects), apart from the scripts' one. */
export const WEBHOOK_OUTBOUND_CLIENT = Symbol('WEBHOOK_OUTBOUND_CLIENT');
