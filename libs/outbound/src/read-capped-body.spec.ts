import { Readable } from 'node:stream';
import { readCappedBody } from './read-capped-body';

// undici's parser enforces the same cap first on the wire (see the limits
// integration tests); these cover the stream-side guard on its own.
describe('readCappedBody', () => {
  it('concatenates chunks up to and including the cap', async () => {
    const body = Readable.from([Buffer.from('abc'), Buffer.from('def')]);
    await expect(readCappedBody(body, undefined, 6)).resolves.toEqual(Buffer.from('abcdef'));
  });

  it('stops reading and destroys the stream once the cap is passed', async () => {
    let pulled = 0;
    const body = new Readable({
      read() {
        pulled += 1;
        this.push(Buffer.alloc(10));
      },
    });
    await expect(readCappedBody(body, undefined, 25)).rejects.toMatchObject({
      code: 'RESPONSE_TOO_LARGE',
      message: 'Response body exceeds 25 bytes',
    });
    expect(body.destroyed).toBe(true);
    expect(pulled).toBeLessThan(10);
  });

  it('fails on a declared Content-Length over the cap without reading', async () => {
    const body = Readable.from([Buffer.from('x')]);
    await expect(readCappedBody(body, '26', 25)).rejects.toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
    expect(body.destroyed).toBe(true);
  });

  it('ignores a malformed Content-Length and relies on counting', async () => {
    await expect(readCappedBody(Readable.from([Buffer.from('ok')]), '1e9', 25)).resolves.toEqual(Buffer.from('ok'));
  });
});
