import { createRuntimeHarness, type RuntimeHarness } from '../../test/runtime-harness';

describe('in-isolate TextEncoder, TextDecoder, atob, btoa', () => {
  let rt: RuntimeHarness;
  beforeAll(async () => {
    rt = await createRuntimeHarness();
  });
  afterAll(() => rt.dispose());

  const samples = ['', 'plain ascii', 'café ñ €', '😀 emoji 𝄞', 'lone \ud800 surrogate'];

  it.each(samples)('encodes %j to the same bytes as Node', async (text) => {
    const bytes = await rt.run(`return Array.from(new TextEncoder().encode(${JSON.stringify(text)}));`);
    expect(bytes).toEqual(Array.from(new TextEncoder().encode(text)));
  });

  it.each(samples)('round-trips %j through TextDecoder', async (text) => {
    const decoded = await rt.run(`return new TextDecoder().decode(new TextEncoder().encode(${JSON.stringify(text)}));`);
    expect(decoded).toBe(new TextDecoder().decode(new TextEncoder().encode(text)));
  });

  it.each([[[0xff, 0x41]], [[0xe2, 0x82]], [[0xed, 0xa0, 0x80, 0x41]], [[0xf0, 0x9f, 0x98, 0x80, 0xc3]], [[0xef, 0xbb, 0xbf, 0x68, 0x69]]])(
    'decodes malformed or BOM-prefixed bytes %j like Node',
    async (bytes) => {
      const decoded = await rt.run(`return new TextDecoder().decode(new Uint8Array(${JSON.stringify(bytes)}));`);
      expect(decoded).toBe(new TextDecoder().decode(new Uint8Array(bytes)));
    },
  );

  it('streams split sequences, honours fatal and rejects other encodings', async () => {
    const result = await rt.run(`
      const d = new TextDecoder();
      const bytes = new TextEncoder().encode('a€b');
      const streamed = d.decode(bytes.subarray(0, 2), { stream: true }) + d.decode(bytes.subarray(2));
      let fatal; try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); } catch (e) { fatal = e.name; }
      let latin; try { new TextDecoder('latin1'); } catch (e) { latin = e.name; }
      const into = new Uint8Array(4);
      const r = new TextEncoder().encodeInto('a€b', into);
      return { streamed, fatal, latin, into: [r.read, r.written], buffer: new TextDecoder().decode(bytes.buffer) };
    `);
    expect(result).toEqual({ streamed: 'a€b', fatal: 'TypeError', latin: 'RangeError', into: [2, 4], buffer: 'a€b' });
  });

  it.each(['', 'a', 'ab', 'abc', 'hello, world', '\u00ff\u0000binary'])('btoa/atob %j like Node', async (text) => {
    const result = await rt.run(`const b = btoa(${JSON.stringify(text)}); return [b, atob(b)];`);
    expect(result).toEqual([btoa(text), text]);
  });

  it('atob tolerates whitespace and missing padding, and rejects garbage', async () => {
    const result = await rt.run(`
      const errors = [];
      for (const bad of ['abcde', 'ab$=', '==']) { try { atob(bad); errors.push('ok'); } catch (e) { errors.push(e.name); } }
      let wide; try { btoa('€'); } catch (e) { wide = e.name; }
      return [atob(' aGV s bG8 '), atob('aGk'), errors, wide];
    `);
    expect(result).toEqual([
      'hello',
      'hi',
      ['InvalidCharacterError', 'InvalidCharacterError', 'InvalidCharacterError'],
      'InvalidCharacterError',
    ]);
  });
});
