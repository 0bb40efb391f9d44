import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { classifyAddress } from './address-policy';
import type { AllowList } from './allow-list';
import { OutboundError } from './outbound-error';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolves a host name to every address it has; injectable so tests can play a hostile DNS. */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: HostResolver = (hostname) => dns.lookup(hostname, { all: true, order: 'verbatim' });

function errorCodeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}

function blocked(host: string, address: string, description: string): OutboundError {
  const subject = host === address ? address : `${host} resolves to ${address}, which`;
  return new OutboundError('SSRF_BLOCKED', `Refused: ${subject} is ${description} (SSRF protection)`);
}

/**
 * Decides which addresses a host may be reached at. Every address of a name
 * must pass: one forbidden answer refuses the host, so a resolver cannot slip
 * an internal address in beside a public one.
 */
export class AddressGuard {
  constructor(
    private readonly allow: AllowList,
    private readonly resolver: HostResolver,
  ) {}

  /**
   * Verdict on a host that is already an IP literal, without touching DNS:
   * returns the address when it may be used, throws SSRF_BLOCKED when not,
   * and returns undefined for names (they need {@link resolve}).
   */
  checkLiteral(host: string): string | undefined {
    if (isIP(host) === 0) return undefined;
    this.assertAddressAllowed(host, host, false);
    return host;
  }

  /** Resolves `host` once and returns the vetted addresses, in resolver order. */
  async resolve(host: string): Promise<string[]> {
    const literal = this.checkLiteral(host);
    if (literal !== undefined) return [literal];
    let answers: readonly ResolvedAddress[];
    try {
      answers = await this.resolver(host);
    } catch (cause) {
      throw new OutboundError('CONNECTION_FAILED', `Could not resolve ${host}: ${errorCodeOf(cause)}`, { cause });
    }
    if (answers.length === 0) throw new OutboundError('CONNECTION_FAILED', `Could not resolve ${host}: no addresses`);
    const hostAllowed = this.allow.allowsHost(host);
    const addresses = [...new Set(answers.map((answer) => answer.address))];
    for (const address of addresses) this.assertAddressAllowed(host, address, hostAllowed);
    return addresses;
  }

  private assertAddressAllowed(host: string, address: string, hostAllowed: boolean): void {
    if (isIP(address) === 0) {
      // Fail closed: a resolver answer we cannot classify is never connected to.
      throw new OutboundError('CONNECTION_FAILED', `Could not resolve ${host}: resolver returned '${address}'`);
    }
    if (hostAllowed || this.allow.allowsAddress(address)) return;
    const verdict = classifyAddress(address);
    if (verdict.forbidden) throw blocked(host, address, verdict.description);
  }
}
