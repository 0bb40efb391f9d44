import { type HopRequest, isRedirectStatus, nextHopRequest } from './redirects';

const post: HopRequest = {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer t', 'x-custom': '1' },
  body: '{"a":1}',
};
const here = new URL('http://a.example/x');
const sameOrigin = new URL('http://a.example/y');
const elsewhere = new URL('http://b.example/y');

describe('redirects', () => {
  it('knows the redirect statuses', () => {
    expect([301, 302, 303, 307, 308].every(isRedirectStatus)).toBe(true);
    expect([200, 300, 304, 305, 306, 399].some(isRedirectStatus)).toBe(false);
  });

  it.each([301, 302, 303])('%s turns POST into a body-less GET', (status) => {
    const next = nextHopRequest(status, post, here, sameOrigin);
    expect(next).toEqual({ method: 'GET', headers: { authorization: 'Bearer t', 'x-custom': '1' }, body: undefined });
  });

  it('303 turns PUT into GET but keeps HEAD', () => {
    expect(nextHopRequest(303, { ...post, method: 'PUT' }, here, sameOrigin).method).toBe('GET');
    expect(nextHopRequest(303, { method: 'HEAD', headers: {}, body: undefined }, here, sameOrigin).method).toBe('HEAD');
  });

  it.each([307, 308])('%s replays method and body', (status) => {
    expect(nextHopRequest(status, post, here, sameOrigin)).toEqual(post);
  });

  it('301/302 keep PUT as PUT with its body', () => {
    expect(nextHopRequest(302, { ...post, method: 'PUT' }, here, sameOrigin)).toEqual({ ...post, method: 'PUT' });
  });

  it('drops credentials on a cross-origin hop', () => {
    const next = nextHopRequest(307, { ...post, headers: { ...post.headers, cookie: 'c=1' } }, here, elsewhere);
    expect(next.headers).toEqual({ 'content-type': 'application/json', 'x-custom': '1' });
  });
});
