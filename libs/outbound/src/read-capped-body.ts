import type { Readable } from 'node:stream';
import { responseTooLarge } from './map-error';

/**
 * Buffers a response body, giving up as soon as it passes `maxBytes`.
 * Destroying the undici body aborts the request and closes the socket, so an
 * endless or huge response costs at most `maxBytes` plus one chunk.
 */
export async function readCappedBody(body: Readable, contentLength: string | undefined, maxBytes: number): Promise<Buffer> {
  // A declared length over the cap fails before a single body byte is read.
  if (contentLength !== undefined && /^\d+$/.test(contentLength) && Number(contentLength) > maxBytes) {
    body.destroy();
    throw responseTooLarge(maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<unknown>) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk instanceof Uint8Array ? chunk : String(chunk));
    total += bytes.length;
    if (total > maxBytes) {
      body.destroy();
      throw responseTooLarge(maxBytes);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total);
}
