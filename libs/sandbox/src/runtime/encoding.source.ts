/**
 * In-isolate JavaScript (V8 alone has no TextEncoder, TextDecoder, atob or
 * btoa). It is a string, not TypeScript, because it runs inside the isolate:
 * compiling it with the lib would let the build or coverage tooling inject
 * helpers that do not exist there. It declares names in the runtime's closure
 * scope; `runtime.source.ts` decides which of them become globals. The classes
 * are built on first use: `domExceptionClass()`, `encodingClasses()`.
 */
export const ENCODING_SOURCE = String.raw`
// Classes and tables below are built on first use (see LAZY_SOURCE).
const domExceptionClass = lazy(() => class DOMException extends $Error {
  constructor(message, name) {
    super(message === undefined ? '' : String(message));
    Object.defineProperty(this, 'name', { value: name === undefined ? 'Error' : String(name), writable: true, configurable: true });
  }
});

function newDOMException(message, name) {
  const DOMException = domExceptionClass();
  return new DOMException(message, name);
}

function utf8Encode(input) {
  const str = String(input);
  const buf = new Uint8Array(str.length * 3);
  let n = 0;
  for (let i = 0; i < str.length; i++) {
    let c = str.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff && i + 1 < str.length ? str.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x80) {
      buf[n++] = c;
    } else if (c < 0x800) {
      buf[n++] = 0xc0 | (c >> 6);
      buf[n++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      buf[n++] = 0xe0 | (c >> 12);
      buf[n++] = 0x80 | ((c >> 6) & 63);
      buf[n++] = 0x80 | (c & 63);
    } else {
      buf[n++] = 0xf0 | (c >> 18);
      buf[n++] = 0x80 | ((c >> 12) & 63);
      buf[n++] = 0x80 | ((c >> 6) & 63);
      buf[n++] = 0x80 | (c & 63);
    }
  }
  return buf.slice(0, n);
}

function utf8Length(str) {
  let n = 0;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length && (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

function toBytes(input) {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError('The "input" argument must be an ArrayBuffer or ArrayBufferView');
}

// WHATWG UTF-8 decode. Returns the text and the index where an incomplete
// trailing sequence starts (only when streaming), so TextDecoder can carry it.
function utf8Decode(bytes, fatal, stream) {
  const parts = [];
  let units = [];
  const push = (cp) => {
    if (cp > 0xffff) {
      cp -= 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      units.push(cp);
    }
    if (units.length >= 8192) {
      parts.push(String.fromCharCode.apply(null, units));
      units = [];
    }
  };
  const bad = () => {
    if (fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
    push(0xfffd);
  };
  const len = bytes.length;
  let i = 0;
  while (i < len) {
    const b = bytes[i];
    if (b < 0x80) {
      push(b);
      i++;
      continue;
    }
    let need = 0;
    let cp = 0;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; cp = b & 0xf; if (b === 0xe0) lower = 0xa0; if (b === 0xed) upper = 0x9f; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; cp = b & 7; if (b === 0xf0) lower = 0x90; if (b === 0xf4) upper = 0x8f; }
    else { bad(); i++; continue; }
    let j = 1;
    for (; j <= need; j++) {
      if (i + j >= len) break;
      const c = bytes[i + j];
      if (c < lower || c > upper) break;
      lower = 0x80;
      upper = 0xbf;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (j > need) {
      push(cp);
      i += need + 1;
    } else if (i + j >= len && stream) {
      break;
    } else {
      bad();
      i += j;
    }
  }
  if (units.length) parts.push(String.fromCharCode.apply(null, units));
  return { text: parts.join(''), rest: i };
}

const encodingClasses = lazy(() => {
class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input) { return utf8Encode(input === undefined ? '' : input); }
  encodeInto(source, destination) {
    const bytes = utf8Encode(source);
    let written = 0;
    let read = 0;
    const str = String(source);
    // Copy whole characters only, as the spec requires.
    for (let i = 0; i < str.length; i++) {
      const c = str.codePointAt(i);
      const size = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      if (written + size > destination.length) break;
      for (let k = 0; k < size; k++) destination[written + k] = bytes[written + k];
      written += size;
      const units = c > 0xffff ? 2 : 1;
      read += units;
      i += units - 1;
    }
    return { read, written };
  }
}

const UTF8_LABELS = ['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8'];

class TextDecoder {
  #fatal;
  #ignoreBOM;
  #pending = new Uint8Array(0);
  #started = false;
  constructor(label, options) {
    const name = label === undefined ? 'utf-8' : String(label).trim().toLowerCase();
    if (!UTF8_LABELS.includes(name)) throw new RangeError('The "' + name + '" encoding is not supported');
    this.#fatal = Boolean(options && options.fatal);
    this.#ignoreBOM = Boolean(options && options.ignoreBOM);
  }
  get encoding() { return 'utf-8'; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input, options) {
    const stream = Boolean(options && options.stream);
    let bytes = toBytes(input);
    if (this.#pending.length) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
    }
    if (!this.#started && !this.#ignoreBOM) {
      if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
      else if (stream && bytes.length < 3 && (bytes.length === 0 || bytes[0] === 0xef)) {
        this.#pending = bytes.slice();
        return '';
      }
    }
    this.#started = stream;
    const { text, rest } = utf8Decode(bytes, this.#fatal, stream);
    this.#pending = stream ? bytes.slice(rest) : new Uint8Array(0);
    return text;
  }
}

return { TextEncoder, TextDecoder };
});

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const base64Index = lazy(() => {
  const index = Object.create(null);
  for (let i = 0; i < B64.length; i++) index[B64[i]] = i;
  return index;
});

function btoa(data) {
  if (arguments.length === 0) throw new TypeError('btoa requires 1 argument');
  const s = String(data);
  let out = '';
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i);
    const b = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    const c = i + 2 < s.length ? s.charCodeAt(i + 2) : 0;
    if (a > 255 || b > 255 || c > 255) throw newDOMException('Invalid character', 'InvalidCharacterError');
    const n = (a << 16) | (b << 8) | c;
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < s.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < s.length ? B64[n & 63] : '=');
  }
  return out;
}

function atob(data) {
  if (arguments.length === 0) throw new TypeError('atob requires 1 argument');
  let s = String(data).replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/==?$/, '');
  if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) {
    throw newDOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
  }
  const index = base64Index();
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    buffer = ((buffer << 6) | index[s[i]]) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((buffer >> bits) & 255);
    }
  }
  return out;
}
`;
