import type { Problem } from './problem';

/**
 * Each API surface answers errors in the shape its clients already parse.
 * The envelope is chosen by path, because errors such as malformed JSON or
 * an oversized body happen before any route is matched.
 */
export type ErrorEnvelope = (problem: Problem) => unknown;

export const nativeEnvelope: ErrorEnvelope = (p) => ({
  error: { code: p.code, message: p.message, statusCode: p.statusCode, ...(p.details ? { details: p.details } : {}) },
});

const envelopes: { prefix: string; envelope: ErrorEnvelope }[] = [];

/** Compatibility surfaces register their envelope for their path prefix. */
export function registerErrorEnvelope(prefix: string, envelope: ErrorEnvelope): void {
  if (envelopes.some((e) => e.prefix === prefix)) return;
  envelopes.push({ prefix, envelope });
  // Longest prefix wins.
  envelopes.sort((a, b) => b.prefix.length - a.prefix.length);
}

export function envelopeFor(url: string): ErrorEnvelope {
  const path = url.split('?')[0] ?? url;
  return envelopes.find((e) => path === e.prefix || path.startsWith(`${e.prefix}/`))?.envelope ?? nativeEnvelope;
}
