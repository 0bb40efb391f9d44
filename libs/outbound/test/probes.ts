import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { type HostResolver, OutboundError, type OutboundErrorCode } from '../src';

/** Awaits a rejection and checks it is an OutboundError with `code`. */
export async function expectOutboundError(promise: Promise<unknown>, code: OutboundErrorCode): Promise<OutboundError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(OutboundError);
  expect(caught).toMatchObject({ code });
  return caught as OutboundError;
}

interface ConnectMessage {
  connectParams: { hostname: string; port: string };
  socket?: Socket;
}

/**
 * Watches undici's own diagnostics channels: `beforeConnect` fires when a
 * pool starts opening a connection, `connected` carries the socket that was
 * actually opened, so tests see where the client really went.
 */
export function watchConnections() {
  const attempts: string[] = [];
  const connectedTo: string[] = [];
  const onBefore = (message: unknown) => {
    const { connectParams } = message as ConnectMessage;
    attempts.push(`${connectParams.hostname}:${connectParams.port}`);
  };
  const onConnected = (message: unknown) => {
    const { socket } = message as ConnectMessage;
    connectedTo.push(`${socket?.remoteAddress}:${socket?.remotePort}`);
  };
  subscribe('undici:client:beforeConnect', onBefore);
  subscribe('undici:client:connected', onConnected);
  return {
    attempts,
    connectedTo,
    stop() {
      unsubscribe('undici:client:beforeConnect', onBefore);
      unsubscribe('undici:client:connected', onConnected);
    },
  };
}

/** A resolver from a fixed table that records every question. */
export function tableResolver(table: Record<string, string[] | (() => string[])>) {
  const questions: string[] = [];
  const resolver: HostResolver = (hostname) => {
    questions.push(hostname);
    const entry = table[hostname];
    const addresses = typeof entry === 'function' ? entry() : entry;
    if (addresses === undefined) {
      return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    }
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
  return { resolver, questions };
}
