import { OutboundError } from './outbound-error';

/**
 * Parses and vets a request or redirect target. The WHATWG parser is the one
 * undici uses, so the host checked here is byte-for-byte the host undici will
 * connect to: "http://2130706433/" and "http://0x7f.1/" both become 127.0.0.1
 * before any check runs. Messages never echo the URL, which may carry tokens.
 */
export function parseTargetUrl(input: string | URL, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(input, base);
  } catch (cause) {
    throw new OutboundError('INVALID_URL', 'Invalid URL', { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundError('INVALID_URL', `Unsupported URL scheme '${url.protocol}' (only http: and https: are allowed)`);
  }
  // Refused like fetch() refuses them: credentials in a URL end up in logs and
  // redirect Location headers; an Authorization header is the explicit way.
  if (url.username !== '' || url.password !== '') {
    throw new OutboundError('INVALID_URL', 'Credentials in URLs are not allowed; send an Authorization header instead');
  }
  return url;
}

/** The URL's host as a resolver or socket wants it: IPv6 literals without brackets. */
export function hostnameOf(url: URL): string {
  const { hostname } = url;
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
