/**
 * In-isolate side of the host bridge: logging, host calls, randomness, the
 * run's control promises and approval. The host functions arrive as closure
 * parameters (`hostSync`, `hostSend`) and never touch a global,
 * so script code cannot reach them. JSON.parse/stringify are captured before
 * any script runs; a script that patches other built-ins can only break its
 * own run, never the host.
 */
export const BRIDGE_SOURCE = String.raw`
const $parse = JSON.parse;
const $stringify = JSON.stringify;
// The run's settings; set by begin() (DISPATCH_SOURCE) before any of the run's code.
let config;

let logOpen = true;
function emitLog(level, message, metaJson) {
  if (!logOpen) return;
  // Past the budget the host keeps nothing; don't copy megabytes to learn that.
  const text = message.length > config.maxLogBytes ? message.slice(0, config.maxLogBytes + 1) : message;
  const meta = metaJson !== undefined && metaJson.length > config.maxLogBytes ? metaJson.slice(0, config.maxLogBytes + 1) : metaJson;
  if (hostSync('log', level, text, meta) !== true) logOpen = false;
}

const consoleObject = {};
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  consoleObject[level] = function (...args) { emitLog(level, formatLogArgs(args)); };
}
consoleObject.trace = function (...args) { emitLog('debug', formatLogArgs(args)); };
consoleObject.dir = function (value) { emitLog('log', formatLogValue(value)); };
consoleObject.assert = function (condition, ...args) {
  if (!condition) emitLog('error', 'Assertion failed' + (args.length > 0 ? ': ' + formatLogArgs(args) : ''));
};

function sdkLogger(level) {
  return function (message, meta) {
    let metaJson;
    if (meta !== undefined) {
      try { metaJson = safeJson(meta); } catch { metaJson = undefined; }
    }
    emitLog(level, typeof message === 'string' ? message : formatLogValue(message), metaJson);
  };
}
const sdkLog = { debug: sdkLogger('debug'), info: sdkLogger('info'), warn: sdkLogger('warn'), error: sdkLogger('error') };

const pendingCalls = new Map();
let lastCallId = 0;
// True while a synchronous call from the host runs the script ('scriptNow' in
// DISPATCH_SOURCE): hostSend's calls reach the host only after that call has
// returned, so host calls go through hostSync then, in order, and the host
// decides whether the slice's calls are sent or thrown away.
let inSlice = false;
function hostCall(op, args) {
  let json;
  try {
    json = $stringify(args);
  } catch (error) {
    return Promise.reject(new TypeError(op + ': arguments must be JSON-serializable (' + formatLogValue(error) + ')'));
  }
  const id = ++lastCallId;
  return new Promise((resolve, reject) => {
    pendingCalls.set(id, { resolve, reject });
    if (inSlice) hostSync('call', id, op, json);
    else hostSend(id, op, json);
  });
}

function settleCall(id, ok, payload) {
  const call = pendingCalls.get(id);
  if (!call) return;
  pendingCalls.delete(id);
  if (!ok) {
    call.reject(new Error(String(payload)));
    return;
  }
  let value;
  try {
    value = $parse(payload);
  } catch (error) {
    call.reject(error);
    return;
  }
  call.resolve(value);
}

let randomPool = new Uint8Array(0);
let randomOffset = 0;
function randomBytes(n) {
  if (n > 256) return new Uint8Array(hostSync('random', n));
  if (randomOffset + n > randomPool.length) {
    randomPool = new Uint8Array(hostSync('random', 4096));
    randomOffset = 0;
  }
  const out = randomPool.slice(randomOffset, randomOffset + n);
  randomOffset += n;
  return out;
}

const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];
// The global crypto, built on first use.
const cryptoObject = lazy(() => ({
  getRandomValues(array) {
    if (!INTEGER_ARRAYS.some((Type) => array instanceof Type)) {
      throw newDOMException('getRandomValues expects an integer TypedArray', 'TypeMismatchError');
    }
    if (array.byteLength > 65536) {
      throw newDOMException('The ArrayBufferView byte length (' + array.byteLength + ') exceeds 65536', 'QuotaExceededError');
    }
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength));
    return array;
  },
  randomUUID() {
    const b = randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = '';
    for (let i = 0; i < 16; i++) hex += (b[i] < 16 ? '0' : '') + b[i].toString(16);
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' + hex.slice(16, 20) + '-' + hex.slice(20);
  },
}));

// runSettled ends the run early: approval (resolve) or a timer callback that
// threw (reject). halted lets onApproved runs skip past a re-issued request.
let control;
const runSettled = new Promise((resolve, reject) => { control = { resolve, reject }; });
let halt;
const halted = new Promise((resolve) => { halt = resolve; });
let continuing = false;
const never = () => new Promise(() => {});

function failRun(error) {
  control.reject(error);
}

const approval = {
  request(data) {
    if (continuing) return Promise.reject(new Error('approval.request cannot be called from onApproved'));
    if (config.entry === 'onApproved') {
      halt();
      return never();
    }
    const d = data !== null && typeof data === 'object' ? data : {};
    let approvalJson;
    try {
      approvalJson = $stringify({
        rows: d.rows === undefined ? null : d.rows,
        metadata: d.metadata === undefined ? null : d.metadata,
        displayFields: d.displayFields === undefined ? null : d.displayFields,
      });
    } catch (error) {
      return Promise.reject(new TypeError('approval.request: data must be JSON-serializable (' + formatLogValue(error) + ')'));
    }
    control.resolve({ kind: 'suspended', approvalJson });
    return never();
  },
};
`;
