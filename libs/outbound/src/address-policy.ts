import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * How the SSRF guard sees one IP address. `range` is the ipaddr.js range name
 * of the address itself; when an IPv6 address merely wraps an IPv4 address
 * (IPv4-mapped, IPv4-translated, NAT64 well-known prefix) the verdict is the
 * verdict on that IPv4 address, reported in `embeddedIPv4`.
 */
export interface AddressClassification {
  readonly address: string;
  readonly family: 4 | 6;
  readonly range: string;
  readonly embeddedIPv4?: AddressClassification;
  readonly forbidden: boolean;
  /** Human wording for error messages, e.g. "link-local". */
  readonly description: string;
}

// Wording only; the ranges themselves come from ipaddr.js.
const RANGE_WORDING: Readonly<Record<string, string>> = {
  unicast: 'public unicast',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (RFC 6598)',
  private: 'private (RFC 1918)',
  reserved: 'reserved',
  benchmarking: 'benchmarking (RFC 2544)',
  amt: 'AMT relay anycast (RFC 7450)',
  as112: 'AS112 (RFC 7534)',
  as112v6: 'AS112 (RFC 7534)',
  uniqueLocal: 'unique-local (fc00::/7)',
  deprecatedSiteLocal: 'site-local (fec0::/10)',
  discard: 'discard-only (RFC 6666)',
  rfc6052: 'NAT64 local-use (RFC 8215)',
  '6to4': '6to4 (RFC 3056)',
  teredo: 'Teredo (RFC 4380)',
  deprecatedOrchid: 'ORCHID',
  orchid2: 'ORCHIDv2',
  droneRemoteIdProtocolEntityTags: 'DRIP entity tags',
  segmentRouting: 'segment routing (RFC 9602)',
  ipv4Compatible: 'IPv4-compatible (deprecated, RFC 4291)',
};

// IPv6 ranges whose last 32 bits are an IPv4 destination that the packet
// actually reaches; judging them by that IPv4 address is both stricter
// (::ffff:127.0.0.1 is loopback) and kinder to DNS64/NAT64 deployments
// (64:ff9b::8.8.8.8 is public). Only the /96 well-known NAT64 prefix embeds
// the address at a fixed place, so the /48 local-use prefix is refused whole.
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');

/** ipaddr.js labels `::a.b.c.d` (deprecated IPv4-compatible) as unicast. */
function rangeOfIPv6(address: ipaddr.IPv6): string {
  const range = address.range();
  if (range === 'unicast' && address.match(IPV4_COMPATIBLE)) return 'ipv4Compatible';
  return range;
}

function embeddedIPv4Of(address: ipaddr.IPv6, range: string): ipaddr.IPv4 | undefined {
  const bytes = address.toByteArray().slice(12);
  if (range === 'ipv4Mapped' || range === 'rfc6145' || (range === 'rfc6052' && address.match(NAT64_WELL_KNOWN))) {
    return new ipaddr.IPv4(bytes);
  }
  return undefined;
}

const EMBEDDING_WORDING: Readonly<Record<string, string>> = {
  ipv4Mapped: 'IPv4-mapped',
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64',
};

function classifyIPv4(address: ipaddr.IPv4): AddressClassification {
  const range = address.range();
  return {
    address: address.toString(),
    family: 4,
    range,
    forbidden: range !== 'unicast',
    description: RANGE_WORDING[range] ?? range,
  };
}

function classifyIPv6(address: ipaddr.IPv6): AddressClassification {
  const range = rangeOfIPv6(address);
  const text = address.toRFC5952String();
  const v4 = embeddedIPv4Of(address, range);
  if (v4 !== undefined) {
    const inner = classifyIPv4(v4);
    return {
      address: text,
      family: 6,
      range,
      embeddedIPv4: inner,
      forbidden: inner.forbidden,
      description: `${EMBEDDING_WORDING[range] ?? range} ${inner.address} (${inner.description})`,
    };
  }
  return {
    address: text,
    family: 6,
    range,
    forbidden: range !== 'unicast',
    description: RANGE_WORDING[range] ?? range,
  };
}

/**
 * Parses a literal IP address in its standard textual form and classifies it.
 * Non-standard IPv4 spellings ("0x7f.1", "2130706433") are rejected here on
 * purpose: URLs are normalised by the WHATWG parser before they get this far,
 * and resolvers only ever answer in dotted-quad form.
 */
export function classifyAddress(ip: string): AddressClassification {
  const family = isIP(ip);
  if (family === 0) throw new TypeError(`'${ip}' is not an IP address`);
  const parsed = ipaddr.parse(ip);
  return parsed instanceof ipaddr.IPv4 ? classifyIPv4(parsed) : classifyIPv6(parsed);
}

/** True when the SSRF guard refuses the address. Anything that is not an IP literal counts as forbidden (fail closed). */
export function isForbiddenAddress(ip: string): boolean {
  if (isIP(ip) === 0) return true;
  return classifyAddress(ip).forbidden;
}
