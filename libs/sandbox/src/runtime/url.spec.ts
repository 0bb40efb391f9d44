import { createRuntimeHarness, type RuntimeHarness } from '../../test/runtime-harness';

// Node's own URL is the reference implementation the isolate version must agree with.
const ABSOLUTE = [
  'https://example.com',
  'HTTPS://User:Pa ss@EXAMPLE.com:443/a/./b/../c?q=1 2&x=é#frag ment',
  'http://example.com:8080/path%20already?x=%41',
  'http://127.0.0.1:3000/api/v1/items?limit=10&offset=20',
  'http://[::1]:8080/x',
  'https://example.com/a/b/../../../c',
  'https://example.com/%2e%2E/x/.',
  'http:example.com/x',
  'https://example.com?',
  'https://example.com/#',
  'http://example.com\\a\\b?c\\d',
  'file:///etc/hosts',
  'mailto:someone@example.com?subject=Hi',
  'urn:isbn:0451450523',
  'data:text/plain,hello world',
  'ws://socket.example.com:80/chat',
  'foo://host/p/../q?x#y',
];

const RELATIVE: Array<[string, string]> = [
  ['/v2/users?page=2', 'https://api.example.com/v1/items?x=1#top'],
  ['users/42', 'https://api.example.com/v1/items'],
  ['../up', 'https://api.example.com/a/b/c'],
  ['?only=query', 'https://api.example.com/a/b?old=1#h'],
  ['#only-hash', 'https://api.example.com/a/b?old=1#h'],
  ['', 'https://api.example.com/a/b?old=1#h'],
  ['//cdn.example.com/lib.js', 'https://example.com/page'],
  ['./same', 'http://example.com/dir/page.html'],
];

const PARTS = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash', 'origin'] as const;

function nodeParts(url: URL): Record<string, string> {
  return Object.fromEntries(PARTS.map((part) => [part, url[part]]));
}

describe('in-isolate URL', () => {
  let rt: RuntimeHarness;
  beforeAll(async () => {
    rt = await createRuntimeHarness();
  });
  afterAll(() => rt.dispose());

  const partsIn = (args: string) =>
    rt.run(`const u = new URL(${args}); return Object.fromEntries(${JSON.stringify(PARTS)}.map((p) => [p, u[p]]));`);

  it.each(ABSOLUTE)('parses %s like Node does', async (input) => {
    expect(await partsIn(JSON.stringify(input))).toEqual(nodeParts(new URL(input)));
  });

  it.each(RELATIVE)('resolves %s against %s like Node does', async (input, base) => {
    expect(await partsIn(`${JSON.stringify(input)}, ${JSON.stringify(base)}`)).toEqual(nodeParts(new URL(input, base)));
  });

  it.each(['not a url', 'http://', 'https://exa mple.com', 'http://example.com:99999', '//no-base'])(
    'rejects %s with a TypeError',
    async (input) => {
      expect(
        await rt.run(`try { new URL(${JSON.stringify(input)}); return 'parsed'; } catch (e) { return e.name + ' ' + e.message; }`),
      ).toBe(`TypeError Invalid URL: ${input}`);
    },
  );

  it('keeps searchParams and search in step', async () => {
    const result = await rt.run(`
      const u = new URL('https://example.com/s?a=1&b=two+words&c=%E2%9C%93');
      const before = [u.searchParams.get('a'), u.searchParams.get('b'), u.searchParams.get('c'), u.searchParams.get('zz')];
      u.searchParams.append('d', 'x&y=z');
      u.searchParams.set('a', '9');
      u.searchParams.delete('b');
      const afterEdit = u.href;
      u.search = '?k=v';
      return { before, afterEdit, k: u.searchParams.get('k'), size: u.searchParams.size, canParse: [URL.canParse('x:y'), URL.canParse('nope')] };
    `);
    expect(result).toEqual({
      before: ['1', 'two words', '✓', null],
      afterEdit: 'https://example.com/s?a=9&c=%E2%9C%93&d=x%26y%3Dz',
      k: 'v',
      size: 1,
      canParse: [true, false],
    });
  });

  it('edits parts through setters', async () => {
    const result = await rt.run(`
      const u = new URL('http://example.com/a');
      u.pathname = '/b c';
      u.port = '8080';
      u.hostname = 'API.Example.com';
      u.hash = 'h';
      u.protocol = 'https';
      const defaultPort = new URL('https://x.com:8443/'); defaultPort.port = '443';
      return [u.href, defaultPort.href, JSON.stringify({ u }), String(u)];
    `);
    expect(result).toEqual([
      'https://api.example.com:8080/b%20c#h',
      'https://x.com/',
      '{"u":"https://api.example.com:8080/b%20c#h"}',
      'https://api.example.com:8080/b%20c#h',
    ]);
  });
});

describe('in-isolate URLSearchParams', () => {
  let rt: RuntimeHarness;
  beforeAll(async () => {
    rt = await createRuntimeHarness();
  });
  afterAll(() => rt.dispose());

  it.each([['?a=1&b=2&a=3'], ['q=hello+world&emoji=%F0%9F%98%80&sym=%21%27%28%29%7E*-._'], ['a&b=&=c&&d=%zz']])(
    'serialises %s like Node does',
    async (query) => {
      const mine = await rt.run(`const p = new URLSearchParams(${JSON.stringify(query)}); return [p.toString(), [...p]];`);
      const node = new URLSearchParams(query);
      expect(mine).toEqual([node.toString(), [...node]]);
    },
  );

  it('accepts objects, pairs and iterables, and sorts stably', async () => {
    const result = await rt.run(`
      const fromObject = new URLSearchParams({ b: 'x y', a: "it's (ok) ~!" });
      const fromPairs = new URLSearchParams([['z', '1'], ['a', '2'], ['z', '0']]);
      fromPairs.sort();
      const seen = [];
      fromPairs.forEach((v, k) => seen.push(k + '=' + v));
      return [fromObject.toString(), fromPairs.toString(), seen, fromPairs.getAll('z'), fromPairs.has('a', '2'), new URLSearchParams(fromPairs).toString()];
    `);
    expect(result).toEqual([
      new URLSearchParams({ b: 'x y', a: "it's (ok) ~!" }).toString(),
      'a=2&z=1&z=0',
      ['a=2', 'z=1', 'z=0'],
      ['1', '0'],
      true,
      'a=2&z=1&z=0',
    ]);
  });
});
