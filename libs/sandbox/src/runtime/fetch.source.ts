/**
 * In-isolate Headers, Response, fetch and sdk.http. Every request becomes a
 * host call with JSON arguments; bodies travel as strings (binary bodies are
 * not supported). Depends on `hostCall` (BRIDGE_SOURCE), `utf8Encode`/
 * `utf8Decode` (ENCODING_SOURCE) and URL/URLSearchParams (`urlClasses()`).
 * Headers and Response are built on first use: `fetchClasses()`.
 */
export const FETCH_SOURCE = String.raw`
// Headers and Response, built on first use.
const fetchClasses = lazy(() => {
const HEADER_NAME = /^[!#$%&'*+\-.^_\x60|~0-9A-Za-z]+$/;

function headerName(name) {
  const s = String(name);
  if (!HEADER_NAME.test(s)) throw new TypeError('Invalid header name: "' + s + '"');
  return s.toLowerCase();
}

const headerValue = (value) => String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');

class Headers {
  #map = new Map();
  constructor(init) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [name, value] of init) this.append(name, value);
    } else if (typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const p = Array.from(pair);
        if (p.length !== 2) throw new TypeError('Each header pair must be an iterable [name, value] tuple');
        this.append(p[0], p[1]);
      }
    } else if (typeof init === 'object') {
      for (const key of Object.keys(init)) {
        const value = init[key];
        if (Array.isArray(value)) for (const v of value) this.append(key, v);
        else if (value !== undefined) this.append(key, value);
      }
    } else {
      throw new TypeError('Headers init must be an object, an array of pairs or Headers');
    }
  }
  append(name, value) {
    const key = headerName(name);
    const list = this.#map.get(key);
    if (list) list.push(headerValue(value));
    else this.#map.set(key, [headerValue(value)]);
  }
  set(name, value) { this.#map.set(headerName(name), [headerValue(value)]); }
  get(name) {
    const list = this.#map.get(headerName(name));
    return list ? list.join(', ') : null;
  }
  getSetCookie() { return (this.#map.get('set-cookie') || []).slice(); }
  has(name) { return this.#map.has(headerName(name)); }
  delete(name) { this.#map.delete(headerName(name)); }
  forEach(callback, thisArg) {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }
  entries() {
    return Array.from(this.#map.keys()).sort().map((name) => [name, this.#map.get(name).join(', ')])[Symbol.iterator]();
  }
  keys() { return Array.from(this.#map.keys()).sort()[Symbol.iterator](); }
  values() { return Array.from(this.entries(), ([, v]) => v)[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
  toJSON() { return Object.fromEntries(this.entries()); }
  get [Symbol.toStringTag]() { return 'Headers'; }
}

class Response {
  #body;
  #used = false;
  constructor(body, init) {
    const options = init || {};
    this.#body = body === undefined || body === null ? '' : String(body);
    this.status = options.status === undefined ? 200 : Number(options.status);
    this.statusText = options.statusText === undefined ? '' : String(options.statusText);
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = new Headers(options.headers);
    this.url = '';
    this.redirected = false;
    this.type = 'basic';
  }
  get bodyUsed() { return this.#used; }
  #take() {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    return this.#body;
  }
  async text() { return this.#take(); }
  async json() { return JSON.parse(this.#take()); }
  async arrayBuffer() { return utf8Encode(this.#take()).buffer; }
  async bytes() { return utf8Encode(this.#take()); }
  clone() {
    if (this.#used) throw new TypeError('Response.clone: Body has already been consumed.');
    const copy = new Response(this.#body, this);
    copy.url = this.url;
    copy.redirected = this.redirected;
    return copy;
  }
  get [Symbol.toStringTag]() { return 'Response'; }
}

return { Headers, Response };
});

function requestBody(body, headers) {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof urlClasses().URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    return body.toString();
  }
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return utf8Decode(toBytes(body), false, false).text;
  // Not what a browser does ("[object Object]"), but what a script author means.
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return JSON.stringify(body);
}

async function fetch(resource, init) {
  const { Headers, Response } = fetchClasses();
  const { URL } = urlClasses();
  const options = init === undefined || init === null ? {} : init;
  const url = typeof resource === 'string' ? resource
    : resource instanceof URL ? resource.href
    : resource && typeof resource.url === 'string' ? resource.url
    : String(resource);
  const method = String(options.method === undefined ? 'GET' : options.method).toUpperCase();
  const headers = new Headers(options.headers);
  const body = requestBody(options.body, headers);
  const request = { method, headers: headers.toJSON() };
  if (body !== undefined) request.body = body;
  if (options.timeout !== undefined) request.timeout = Number(options.timeout);
  if (options.redirect !== undefined) request.redirect = String(options.redirect);
  const reply = await hostCall('fetch', [url, request]);
  const r = reply && typeof reply === 'object' ? reply : {};
  const response = new Response(typeof r.body === 'string' ? r.body : r.body === undefined || r.body === null ? '' : JSON.stringify(r.body), {
    status: typeof r.status === 'number' ? r.status : 0,
    statusText: typeof r.statusText === 'string' ? r.statusText : '',
    headers: r.headers && typeof r.headers === 'object' ? r.headers : undefined,
  });
  response.url = typeof r.url === 'string' ? r.url : url;
  response.redirected = r.redirected === true;
  return response;
}

function parseHttpBody(body, headers) {
  if (typeof body !== 'string') return body;
  let contentType = '';
  if (headers && typeof headers === 'object') {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === 'content-type') contentType = String(headers[key]);
  }
  const looksJson = contentType ? /[/+]json\b/i.test(contentType) : /^\s*[[{]/.test(body);
  if (!looksJson) return body;
  try { return JSON.parse(body); } catch { return body; }
}

function createHttp() {
  const send = async (method, url, body, options) => {
    const { Headers } = fetchClasses();
    const { URL, URLSearchParams } = urlClasses();
    const o = options && typeof options === 'object' ? options : {};
    const request = { method, url: url instanceof URL ? url.href : String(url) };
    if (body !== undefined) request.body = body;
    if (o.headers !== undefined) request.headers = o.headers instanceof Headers ? o.headers.toJSON() : o.headers;
    const query = o.query !== undefined ? o.query : o.params;
    if (query !== undefined) request.query = query instanceof URLSearchParams ? Object.fromEntries(query) : query;
    if (o.timeout !== undefined) request.timeout = Number(o.timeout);
    const reply = await hostCall('http.request', [request]);
    const r = reply && typeof reply === 'object' ? reply : {};
    return { status: r.status, headers: r.headers || {}, body: parseHttpBody(r.body, r.headers) };
  };
  return {
    get: (url, options) => send('GET', url, undefined, options),
    delete: (url, options) => send('DELETE', url, undefined, options),
    post: (url, body, options) => send('POST', url, body, options),
    put: (url, body, options) => send('PUT', url, body, options),
    patch: (url, body, options) => send('PATCH', url, body, options),
    request: (options) => {
      const o = options && typeof options === 'object' ? options : {};
      return send(String(o.method || 'GET').toUpperCase(), o.url, o.body, o);
    },
  };
}
`;
