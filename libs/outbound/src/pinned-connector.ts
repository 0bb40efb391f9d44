import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import type { AddressGuard } from './address-guard';

/**
 * An undici connector that resolves the origin's host once, vets every
 * answer, and opens the socket to a vetted address. Because the resolution
 * and the connect happen in one place, there is no second lookup a rebinding
 * DNS server could answer differently (no TOCTOU window).
 *
 * Only `hostname` is swapped for the address: undici derives the TLS SNI and
 * the certificate identity from `host` (the origin's name), so HTTPS still
 * verifies the certificate against the name the caller asked for.
 */
export function createPinnedConnector(guard: AddressGuard, connectTimeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: connectTimeoutMs });

  return (options, callback) => {
    const tryAddresses = (addresses: readonly string[], index: number, lastError: Error | null): void => {
      const address = addresses[index];
      if (address === undefined) {
        callback(lastError ?? new Error(`No address to connect to for ${options.hostname}`), null);
        return;
      }
      connect({ ...options, hostname: address }, (error: Error | null, socket: Socket | null) => {
        if (error === null && socket !== null) callback(null, socket);
        // Every address was vetted, so falling back (e.g. IPv6 unreachable,
        // IPv4 fine) never widens what can be reached.
        else tryAddresses(addresses, index + 1, error);
      });
    };

    guard.resolve(options.hostname).then(
      (addresses) => tryAddresses(addresses, 0, null),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}
