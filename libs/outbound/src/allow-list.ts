import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import { classifyAddress } from './address-policy';

/**
 * Operator-chosen exceptions to the SSRF guard (`KILN_OUTBOUND_ALLOW`).
 * A host entry opens every address that host resolves to; an IP or CIDR entry
 * opens those addresses whatever name led to them.
 */
export interface AllowList {
  /** Normalised entries, for logs and diagnostics. */
  readonly entries: readonly string[];
  /** `hostname` as a WHATWG URL spells it (lower case, IPv6 without brackets). */
  allowsHost(hostname: string): boolean;
  allowsAddress(ip: string): boolean;
}

/** A malformed allow-list entry; the message names it so config validation can quote it. */
export class AllowListError extends Error {
  override readonly name = 'AllowListError';

  constructor(
    readonly entry: string,
    readonly reason?: string,
  ) {
    super(`'${entry}' is not a host or CIDR${reason === undefined ? '' : ` (${reason})`}`);
  }
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
// The WHATWG URL parser reads a host whose last label is numeric as IPv4
// ("10.1" becomes 10.0.0.1), so such a name could never match a request host.
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/;

function stripTrailingDot(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

function parseCidr(entry: string): Cidr {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) throw new AllowListError(entry);
  const maxBits = family === 4 ? 32 : 128;
  if (slash === -1) return [ipaddr.parse(address), maxBits];
  const bitsText = entry.slice(slash + 1);
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits >= 0 && bits <= maxBits)) throw new AllowListError(entry, `prefix length must be 0-${maxBits}`);
  return [ipaddr.parse(address), bits];
}

function parseHost(entry: string): { host: string; wildcard: boolean } {
  const wildcard = entry.startsWith('*.');
  const ascii = domainToASCII(stripTrailingDot(wildcard ? entry.slice(2) : entry));
  const labels = ascii.split('.');
  const valid =
    ascii !== '' &&
    ascii.length <= 253 &&
    labels.every((label) => LABEL.test(label)) &&
    !NUMERIC_LABEL.test(labels[labels.length - 1] ?? '');
  if (!valid) throw new AllowListError(entry);
  return { host: ascii, wildcard };
}

function looksLikeIp(entry: string): boolean {
  return entry.includes('/') || entry.includes(':') || isIP(entry) !== 0;
}

class ParsedAllowList implements AllowList {
  constructor(
    readonly entries: readonly string[],
    private readonly hosts: ReadonlySet<string>,
    private readonly wildcardSuffixes: readonly string[],
    private readonly cidrs: readonly Cidr[],
  ) {}

  allowsHost(hostname: string): boolean {
    const host = stripTrailingDot(hostname.toLowerCase());
    if (this.hosts.has(host)) return true;
    if (this.wildcardSuffixes.some((suffix) => host.endsWith(suffix))) return true;
    // A URL host that is itself an IP literal is judged by the CIDR entries.
    return isIP(host) !== 0 && this.allowsAddress(host);
  }

  allowsAddress(ip: string): boolean {
    if (isIP(ip) === 0 || this.cidrs.length === 0) return false;
    const candidates = [ipaddr.parse(ip)];
    // ::ffff:10.0.0.5 is 10.0.0.5 on the wire, so an IPv4 entry covers it.
    const embedded = classifyAddress(ip).embeddedIPv4;
    if (embedded !== undefined) candidates.push(ipaddr.parse(embedded.address));
    return candidates.some((address) =>
      this.cidrs.some(([network, bits]) => address.kind() === network.kind() && address.match(network, bits)),
    );
  }
}

/**
 * Parses a comma-separated allow-list: exact host names (case-insensitive),
 * `*.example.com` wildcards (any depth of subdomain, not the apex), IPv4/IPv6
 * addresses and CIDRs. Empty entries are ignored; anything else that does not
 * parse throws an {@link AllowListError} naming the entry.
 */
export function parseAllowList(spec: string): AllowList {
  const entries: string[] = [];
  const hosts = new Set<string>();
  const wildcardSuffixes: string[] = [];
  const cidrs: Cidr[] = [];
  for (const raw of spec.split(',')) {
    const original = raw.trim();
    const entry = original.toLowerCase();
    if (entry === '') continue;
    try {
      if (looksLikeIp(entry)) {
        const cidr = parseCidr(entry);
        cidrs.push(cidr);
        entries.push(`${cidr[0].toString()}/${cidr[1]}`);
        continue;
      }
      const { host, wildcard } = parseHost(entry);
      if (wildcard) wildcardSuffixes.push(`.${host}`);
      else hosts.add(host);
      entries.push(wildcard ? `*.${host}` : host);
    } catch (error) {
      // Quote the entry as the operator wrote it, not its lower-cased form.
      if (error instanceof AllowListError) throw new AllowListError(original, error.reason);
      throw error;
    }
  }
  return new ParsedAllowList(entries, hosts, wildcardSuffixes, cidrs);
}
