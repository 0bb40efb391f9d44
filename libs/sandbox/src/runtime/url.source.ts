/**
 * In-isolate URL and URLSearchParams: a compact take on the WHATWG URL
 * standard covering what scripts do with URLs (build, resolve, read and edit
 * parts, query strings). Not covered: IDNA/punycode hosts and IPv4 number
 * normalisation; the outbound SSRF guard re-parses every URL on the host side
 * anyway. Depends on `utf8Encode`/`utf8Decode` from ENCODING_SOURCE.
 * `runtime.source.ts` runs it inside `urlClasses()`, on first use.
 */
export const URL_SOURCE = String.raw`
const SPECIAL_PORTS = { 'ftp:': '21', 'file:': '', 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };
const isSpecialScheme = (protocol) => Object.prototype.hasOwnProperty.call(SPECIAL_PORTS, protocol);

const FRAGMENT_SET = /[^\u0021-\u007e]|["<>\x60]/gu;
const QUERY_SET = /[^\u0021-\u007e]|["#<>]/gu;
const SPECIAL_QUERY_SET = /[^\u0021-\u007e]|["#<>']/gu;
const PATH_SET = /[^\u0021-\u007e]|["#<>?^\x60{}]/gu;
const USERINFO_SET = /[^\u0021-\u007e]|["#<>?^\x60{}/:;=@[\\\]|]/gu;
const FORBIDDEN_HOST = /[\u0000-\u0020#%/:<>?@[\\\]^|\u007f]/;

function percentEncode(str, set) {
  return str.replace(set, (ch) => {
    let out = '';
    for (const b of utf8Encode(ch)) out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
    return out;
  });
}

function percentDecode(str) {
  if (!str.includes('%')) return str;
  return str.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    return utf8Decode(bytes, false, false).text;
  });
}

function invalidUrl(input) {
  const error = new TypeError('Invalid URL: ' + input);
  error.code = 'ERR_INVALID_URL';
  return error;
}

function splitTail(rest) {
  let fragment = null;
  let query = null;
  const hash = rest.indexOf('#');
  if (hash >= 0) { fragment = rest.slice(hash + 1); rest = rest.slice(0, hash); }
  const q = rest.indexOf('?');
  if (q >= 0) { query = rest.slice(q + 1); rest = rest.slice(0, q); }
  return { path: rest, query, fragment };
}

function normalizePath(path) {
  if (!path.startsWith('/')) return path;
  const segments = path.split('/');
  const out = [];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    const low = seg.toLowerCase();
    const last = i === segments.length - 1;
    if (seg === '..' || low === '.%2e' || low === '%2e.' || low === '%2e%2e') {
      out.pop();
      if (last) out.push('');
    } else if (seg === '.' || low === '%2e') {
      if (last) out.push('');
    } else {
      out.push(seg);
    }
  }
  return '/' + out.join('/');
}

function encodeTail(record, tail) {
  const special = isSpecialScheme(record.protocol);
  record.query = tail.query === null ? null : percentEncode(tail.query, special ? SPECIAL_QUERY_SET : QUERY_SET);
  record.fragment = tail.fragment === null ? null : percentEncode(tail.fragment, FRAGMENT_SET);
}

function setPath(record, path) {
  const special = isSpecialScheme(record.protocol);
  if (special) path = path.replace(/\\/g, '/');
  if (record.hostname !== null && path !== '' && !path.startsWith('/')) path = '/' + path;
  path = normalizePath(percentEncode(path, PATH_SET));
  if (special && path === '') path = '/';
  record.path = path;
}

function parseHost(raw, special, input) {
  if (raw.startsWith('[')) {
    if (!raw.endsWith(']') || !/^\[[0-9A-Fa-f:.]+\]$/.test(raw)) throw invalidUrl(input);
    return raw.toLowerCase();
  }
  if (!special) {
    if (/[\u0000\t\n\r #/:<>?@[\\\]^|]/.test(raw)) throw invalidUrl(input);
    return percentEncode(raw, /[^\u0021-\u007e]/gu);
  }
  const host = percentDecode(raw).toLowerCase();
  if (FORBIDDEN_HOST.test(host)) throw invalidUrl(input);
  return host;
}

function parsePort(raw, protocol, input) {
  if (raw === '') return '';
  if (!/^[0-9]+$/.test(raw)) throw invalidUrl(input);
  const n = Number(raw);
  if (n > 65535) throw invalidUrl(input);
  const port = String(n);
  return SPECIAL_PORTS[protocol] === port ? '' : port;
}

// rest: what follows "scheme://" (or the slashes of a special scheme).
function parseAuthority(protocol, rest, input) {
  const special = isSpecialScheme(protocol);
  let end = rest.search(special ? /[/?#\\]/ : /[/?#]/);
  if (end < 0) end = rest.length;
  const authority = rest.slice(0, end);
  const record = { protocol, username: '', password: '', hostname: '', port: '', path: '', query: null, fragment: null, opaque: false };
  let hostPort = authority;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const info = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    const colon = info.indexOf(':');
    record.username = percentEncode(colon >= 0 ? info.slice(0, colon) : info, USERINFO_SET);
    record.password = colon >= 0 ? percentEncode(info.slice(colon + 1), USERINFO_SET) : '';
  }
  let hostRaw = hostPort;
  let portRaw = '';
  const close = hostPort.lastIndexOf(']');
  const colon = hostPort.lastIndexOf(':');
  if (colon > close) {
    hostRaw = hostPort.slice(0, colon);
    portRaw = hostPort.slice(colon + 1);
  }
  record.hostname = parseHost(hostRaw, special, input);
  record.port = parsePort(portRaw, protocol, input);
  if (special && protocol !== 'file:' && record.hostname === '') throw invalidUrl(input);
  if (protocol === 'file:') {
    if (record.hostname === 'localhost') record.hostname = '';
    record.username = '';
    record.password = '';
    record.port = '';
  }
  const tail = splitTail(rest.slice(end));
  setPath(record, tail.path);
  encodeTail(record, tail);
  return record;
}

function parseAbsolute(protocol, rest, input, base) {
  if (isSpecialScheme(protocol)) {
    rest = rest.replace(/^[^?#]*/, (head) => head.replace(/\\/g, '/'));
    if (base && base.protocol === protocol && !rest.startsWith('/')) return resolveRelative(rest, base, input);
    if (protocol === 'file:') {
      if (rest.startsWith('//')) return parseAuthority(protocol, rest.slice(2), input);
      const record = { protocol, username: '', password: '', hostname: '', port: '', path: '', query: null, fragment: null, opaque: false };
      const tail = splitTail(rest);
      setPath(record, tail.path);
      encodeTail(record, tail);
      return record;
    }
    return parseAuthority(protocol, rest.replace(/^\/*/, ''), input);
  }
  if (rest.startsWith('//')) return parseAuthority(protocol, rest.slice(2), input);
  const tail = splitTail(rest);
  const record = { protocol, username: '', password: '', hostname: null, port: '', path: '', query: null, fragment: null, opaque: !tail.path.startsWith('/') };
  record.path = record.opaque ? percentEncode(tail.path, /[^\u0020-\u007e]/gu) : normalizePath(percentEncode(tail.path, PATH_SET));
  encodeTail(record, tail);
  return record;
}

function resolveRelative(input, base, original) {
  const special = isSpecialScheme(base.protocol);
  if (special) input = input.replace(/^[^?#]*/, (head) => head.replace(/\\/g, '/'));
  if (base.opaque) {
    if (!input.startsWith('#')) throw invalidUrl(original);
    const record = Object.assign({}, base);
    record.fragment = percentEncode(input.slice(1), FRAGMENT_SET);
    return record;
  }
  if (input.startsWith('//')) return parseAbsolute(base.protocol, input, original, null);
  const record = Object.assign({}, base);
  const tail = splitTail(input);
  if (tail.path === '') {
    if (input === '') {
      record.fragment = null;
    } else if (input.startsWith('#')) {
      record.fragment = percentEncode(tail.fragment, FRAGMENT_SET);
    } else {
      encodeTail(record, tail);
    }
    return record;
  }
  const path = tail.path.startsWith('/') ? tail.path : base.path.slice(0, base.path.lastIndexOf('/') + 1) + tail.path;
  setPath(record, path);
  encodeTail(record, tail);
  return record;
}

function parseUrl(input, base) {
  const s = String(input).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.\-]*):/.exec(s);
  if (scheme) return parseAbsolute(scheme[1].toLowerCase() + ':', s.slice(scheme[0].length), input, base);
  if (!base) throw invalidUrl(input);
  return resolveRelative(s, base, input);
}

function serializeUrl(r) {
  let out = r.protocol;
  if (r.hostname !== null) {
    out += '//';
    if (r.username !== '' || r.password !== '') out += r.username + (r.password !== '' ? ':' + r.password : '') + '@';
    out += r.hostname + (r.port !== '' ? ':' + r.port : '');
  } else if (!r.opaque && r.path.startsWith('//')) {
    out += '/.';
  }
  out += r.path;
  if (r.query !== null) out += '?' + r.query;
  if (r.fragment !== null) out += '#' + r.fragment;
  return out;
}

const toUSV = (value) => String(value).toWellFormed();

function formEncode(str) {
  return encodeURIComponent(toUSV(str))
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

function parseQuery(query) {
  const list = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq >= 0 ? part.slice(0, eq) : part;
    const value = eq >= 0 ? part.slice(eq + 1) : '';
    list.push([percentDecode(name.replace(/\+/g, ' ')), percentDecode(value.replace(/\+/g, ' '))]);
  }
  return list;
}

const searchParamsOwner = new WeakMap();
let replaceSearchParams;

class URLSearchParams {
  #list = [];
  static {
    replaceSearchParams = (params, query) => { params.#list = parseQuery(query); };
  }
  constructor(init) {
    if (init === undefined || init === null) return;
    if (typeof init === 'object' || typeof init === 'function') {
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = Array.from(pair);
          if (p.length !== 2) throw new TypeError('Each query pair must be an iterable [name, value] tuple');
          this.#list.push([toUSV(p[0]), toUSV(p[1])]);
        }
      } else {
        for (const key of Object.keys(init)) this.#list.push([toUSV(key), toUSV(init[key])]);
      }
      return;
    }
    const s = toUSV(init);
    this.#list = parseQuery(s.startsWith('?') ? s.slice(1) : s);
  }
  #changed() {
    const owner = searchParamsOwner.get(this);
    if (owner) owner.query = this.#list.length ? this.toString() : null;
  }
  get size() { return this.#list.length; }
  append(name, value) { this.#list.push([toUSV(name), toUSV(value)]); this.#changed(); }
  delete(name, value) {
    name = toUSV(name);
    value = value === undefined ? undefined : toUSV(value);
    this.#list = this.#list.filter(([n, v]) => !(n === name && (value === undefined || v === value)));
    this.#changed();
  }
  get(name) {
    name = toUSV(name);
    const found = this.#list.find(([n]) => n === name);
    return found ? found[1] : null;
  }
  getAll(name) {
    name = toUSV(name);
    return this.#list.filter(([n]) => n === name).map(([, v]) => v);
  }
  has(name, value) {
    name = toUSV(name);
    value = value === undefined ? undefined : toUSV(value);
    return this.#list.some(([n, v]) => n === name && (value === undefined || v === value));
  }
  set(name, value) {
    name = toUSV(name);
    value = toUSV(value);
    const index = this.#list.findIndex(([n]) => n === name);
    if (index < 0) this.#list.push([name, value]);
    else {
      this.#list[index][1] = value;
      this.#list = this.#list.filter(([n], i) => i <= index || n !== name);
    }
    this.#changed();
  }
  sort() {
    this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#changed();
  }
  forEach(callback, thisArg) {
    for (const [n, v] of this.#list.slice()) callback.call(thisArg, v, n, this);
  }
  keys() { return this.#list.map(([n]) => n)[Symbol.iterator](); }
  values() { return this.#list.map(([, v]) => v)[Symbol.iterator](); }
  entries() { return this.#list.map(([n, v]) => [n, v])[Symbol.iterator](); }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return this.#list.map(([n, v]) => formEncode(n) + '=' + formEncode(v)).join('&'); }
  get [Symbol.toStringTag]() { return 'URLSearchParams'; }
}

class URL {
  #r;
  #params = null;
  constructor(url, base) {
    if (arguments.length === 0) throw new TypeError('URL constructor requires 1 argument');
    const baseRecord = base === undefined ? null : base instanceof URL ? base.#r : parseUrl(base, null);
    this.#r = parseUrl(url instanceof URL ? url.href : url, baseRecord);
  }
  static canParse(url, base) {
    try { new URL(url, base); return true; } catch { return false; }
  }
  static parse(url, base) {
    try { return new URL(url, base); } catch { return null; }
  }
  #syncParams() { if (this.#params) replaceSearchParams(this.#params, this.#r.query || ''); }
  get href() { return serializeUrl(this.#r); }
  set href(value) { this.#r = parseUrl(value, null); this.#syncParams(); if (this.#params) searchParamsOwner.set(this.#params, this.#r); }
  get origin() {
    const r = this.#r;
    if (!isSpecialScheme(r.protocol) || r.protocol === 'file:') return 'null';
    return r.protocol + '//' + r.hostname + (r.port !== '' ? ':' + r.port : '');
  }
  get protocol() { return this.#r.protocol; }
  set protocol(value) {
    const m = /^([a-zA-Z][a-zA-Z0-9+.\-]*)/.exec(String(value));
    if (!m) return;
    const protocol = m[1].toLowerCase() + ':';
    if (isSpecialScheme(protocol) !== isSpecialScheme(this.#r.protocol)) return;
    this.#r.protocol = protocol;
    if (SPECIAL_PORTS[protocol] === this.#r.port) this.#r.port = '';
  }
  get username() { return this.#r.username; }
  set username(value) { if (this.#r.hostname) this.#r.username = percentEncode(String(value), USERINFO_SET); }
  get password() { return this.#r.password; }
  set password(value) { if (this.#r.hostname) this.#r.password = percentEncode(String(value), USERINFO_SET); }
  get host() { const r = this.#r; return r.hostname === null ? '' : r.hostname + (r.port !== '' ? ':' + r.port : ''); }
  set host(value) {
    if (this.#r.opaque) return;
    const s = String(value);
    const close = s.lastIndexOf(']');
    const colon = s.lastIndexOf(':');
    try {
      this.#r.hostname = parseHost(colon > close ? s.slice(0, colon) : s, isSpecialScheme(this.#r.protocol), s);
      if (colon > close) this.#r.port = parsePort(s.slice(colon + 1), this.#r.protocol, s);
    } catch { /* invalid hosts are ignored, as setters never throw */ }
  }
  get hostname() { return this.#r.hostname === null ? '' : this.#r.hostname; }
  set hostname(value) {
    if (this.#r.opaque) return;
    try { this.#r.hostname = parseHost(String(value), isSpecialScheme(this.#r.protocol), String(value)); } catch { /* ignored */ }
  }
  get port() { return this.#r.port; }
  set port(value) {
    if (this.#r.hostname === null || this.#r.hostname === '' || this.#r.protocol === 'file:') return;
    const digits = /^[0-9]*/.exec(String(value))[0];
    if (String(value) === '') this.#r.port = '';
    else if (digits !== '' && Number(digits) <= 65535) this.#r.port = parsePort(digits, this.#r.protocol, digits);
  }
  get pathname() { return this.#r.path; }
  set pathname(value) { if (!this.#r.opaque) setPath(this.#r, String(value)); }
  get search() { const q = this.#r.query; return q === null || q === '' ? '' : '?' + q; }
  set search(value) {
    let s = String(value);
    if (s.startsWith('?')) s = s.slice(1);
    this.#r.query = s === '' ? null : percentEncode(s, isSpecialScheme(this.#r.protocol) ? SPECIAL_QUERY_SET : QUERY_SET);
    this.#syncParams();
  }
  get searchParams() {
    if (!this.#params) {
      this.#params = new URLSearchParams(this.#r.query || '');
      searchParamsOwner.set(this.#params, this.#r);
    }
    return this.#params;
  }
  get hash() { const f = this.#r.fragment; return f === null || f === '' ? '' : '#' + f; }
  set hash(value) {
    let s = String(value);
    if (s.startsWith('#')) s = s.slice(1);
    this.#r.fragment = s === '' ? null : percentEncode(s, FRAGMENT_SET);
  }
  toString() { return this.href; }
  toJSON() { return this.href; }
  get [Symbol.toStringTag]() { return 'URL'; }
}
`;
