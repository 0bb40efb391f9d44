/**
 * In-isolate globals and the dispatcher the host drives. Runs last in the
 * runtime closure, so every helper of the other sources is in scope.
 *
 * The dispatcher returns plain objects of strings to the host:
 *   { kind: 'completed', output: json } | { kind: 'suspended', approval: json }
 *   | { kind: 'failed', code, message, stack }
 * Output is stringified here, inside the isolate, so a huge or hostile value
 * is measured before a single byte of it is copied out.
 */
export const DISPATCH_SOURCE = String.raw`
const G = globalThis;
// The run's data; set by begin(), at the end.
let globalsData;
let handlerExtras = null;
// Stands for a global built on first use (LAZY_SOURCE) until it is defined.
const LAZY = {};
// Stands for a global whose value is the run's own, set by begin().
const PER_RUN = {};

function deepFreeze(value) {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze(value[key]);
  }
  return value;
}

const sdk = {
  http: createHttp(),
  cache: {
    get: (key) => hostCall('cache.get', [String(key)]),
    set: (key, value, ttlSeconds) => hostCall('cache.set', ttlSeconds === undefined ? [String(key), value] : [String(key), value, Number(ttlSeconds)]),
    delete: (key) => hostCall('cache.delete', [String(key)]),
    exists: (key) => hostCall('cache.exists', [String(key)]),
    increment: (key, delta) => hostCall('cache.increment', [String(key), delta === undefined ? 1 : Number(delta)]),
  },
  log: sdkLog,
  events: { publish: (type, payload) => hostCall('events.publish', [String(type), payload === undefined ? null : payload]) },
};

const shared = {
  input: PER_RUN,
  context: PER_RUN,
  sdk,
  events: sdk.events,
  approval,
  fetch,
  console: consoleObject,
  results: {},
  setTimeout,
  clearTimeout,
  queueMicrotask: (callback) => { Promise.resolve().then(() => callback()); },
  URL: LAZY,
  URLSearchParams: LAZY,
  Headers: LAZY,
  Response: LAZY,
  TextEncoder: LAZY,
  TextDecoder: LAZY,
  atob,
  btoa,
  crypto: LAZY,
  DOMException: LAZY,
  eventData: PER_RUN,
  requestUser: PER_RUN,
  logger: sdkLog,
  API: sdk,
};
const LAZY_NAMES = ['URL', 'URLSearchParams', 'Headers', 'Response', 'TextEncoder', 'TextDecoder', 'crypto', 'DOMException'];

function lazyValue(name) {
  switch (name) {
    case 'URL': return urlClasses().URL;
    case 'URLSearchParams': return urlClasses().URLSearchParams;
    case 'Headers': return fetchClasses().Headers;
    case 'Response': return fetchClasses().Response;
    case 'TextEncoder': return encodingClasses().TextEncoder;
    case 'TextDecoder': return encodingClasses().TextDecoder;
    case 'crypto': return cryptoObject();
    case 'DOMException': return domExceptionClass();
    default: return undefined;
  }
}

// Replaces a lazy accessor with the writable, configurable data property it
// stands for, keeping its enumerability. A write through an object that only
// inherits the accessor makes an own property there, as it would for data.
function settleLazy(holder, name, get, value, writing) {
  if (holder === null || (typeof holder !== 'object' && typeof holder !== 'function')) return;
  try {
    const own = $getOwnPropertyDescriptor(holder, name);
    const ours = own !== undefined && own.get === get;
    if (ours || writing) {
      $defineProperty(holder, name, { __proto__: null, value, writable: true, enumerable: ours ? own.enumerable : true, configurable: true });
    }
  } catch {
    // A frozen or otherwise locked holder keeps the accessor; reads still answer.
  }
}

// One getter/setter pair per lazy name, shared by the global and the handler
// argument: either one's first read builds the value for both.
const lazyAccessors = Object.create(null);
for (const name of LAZY_NAMES) {
  const get = function () {
    const value = lazyValue(name);
    settleLazy(this, name, get, value, false);
    return value;
  };
  const set = function (value) { settleLazy(this, name, get, value, true); };
  lazyAccessors[name] = { get, set };
}

// Descriptors are reused (each new one costs in a fresh context) and have no
// prototype: handler arguments are built after the script ran, and a script
// that gives Object.prototype a "get" or "value" must not change what they say.
const accessorDescriptor = Object.create(null);
accessorDescriptor.configurable = true;
function defineLazy(target, name, enumerable) {
  const accessors = lazyAccessors[name];
  accessorDescriptor.get = accessors.get;
  accessorDescriptor.set = accessors.set;
  accessorDescriptor.enumerable = enumerable;
  $defineProperty(target, name, accessorDescriptor);
}

const dataDescriptor = Object.create(null);
dataDescriptor.writable = true;
dataDescriptor.configurable = true;
dataDescriptor.enumerable = false;
// Per-run globals get their place now (undefined) and their value in begin(), so the order never changes.
for (const name of Object.keys(shared)) {
  if (shared[name] === LAZY) {
    defineLazy(G, name, false);
  } else {
    dataDescriptor.value = shared[name] === PER_RUN ? undefined : shared[name];
    $defineProperty(G, name, dataDescriptor);
  }
}
dataDescriptor.value = undefined;

function setRunGlobal(name, value) {
  shared[name] = value;
  dataDescriptor.value = value;
  $defineProperty(G, name, dataDescriptor);
  dataDescriptor.value = undefined;
}

function handlerArgument(extra) {
  const argument = Object.assign({}, handlerExtras, shared, { results: G.results });
  // Same keys in the same order as the globals; the lazy ones stay lazy.
  for (const name of LAZY_NAMES) defineLazy(argument, name, true);
  return extra ? Object.assign(argument, extra) : argument;
}

function describeFailure(code, error) {
  if (error !== null && typeof error === 'object' && (isErrorLike(error) || 'message' in error)) {
    let stack;
    try { stack = typeof error.stack === 'string' ? error.stack : undefined; } catch { stack = undefined; }
    return { kind: 'failed', code, message: formatError(error), stack };
  }
  return { kind: 'failed', code, message: 'Uncaught ' + formatLogValue(error) };
}

function serializeOutput(value) {
  if (value === undefined) return { kind: 'completed', output: 'null' };
  let json;
  try {
    json = $stringify(value);
  } catch (error) {
    return { kind: 'failed', code: 'INVALID_OUTPUT', message: 'Output is not JSON-serializable: ' + formatError(error) };
  }
  if (json === undefined) {
    return { kind: 'failed', code: 'INVALID_OUTPUT', message: 'Output is not JSON-serializable: a ' + typeof value + ' has no JSON form' };
  }
  if (json.length > config.maxOutputBytes || utf8Length(json) > config.maxOutputBytes) {
    return { kind: 'failed', code: 'OUTPUT_LIMIT', message: 'Output exceeds the limit of ' + config.maxOutputBytes + ' bytes' };
  }
  return { kind: 'completed', output: json };
}

async function complete(work) {
  let outcome;
  try {
    outcome = await Promise.race([work, runSettled]);
  } catch (error) {
    return describeFailure('EXECUTION_ERROR', error);
  }
  if (outcome.kind === 'suspended') {
    if (utf8Length(outcome.approvalJson) > config.maxOutputBytes) {
      return { kind: 'failed', code: 'OUTPUT_LIMIT', message: 'Approval data exceeds the limit of ' + config.maxOutputBytes + ' bytes' };
    }
    return { kind: 'suspended', approval: outcome.approvalJson };
  }
  return serializeOutput(outcome.value);
}

function pickHandler(exported) {
  if (typeof exported === 'function') return exported;
  if (exported !== null && typeof exported === 'object') {
    if (typeof exported.handler === 'function') return exported.handler;
    if (typeof exported.default === 'function') return exported.default;
  }
  return undefined;
}

async function callOnApproved(holder) {
  const fn = holder !== null && (typeof holder === 'object' || typeof holder === 'function') ? holder.onApproved : undefined;
  if (typeof fn !== 'function') throw new Error('script has no onApproved export');
  continuing = true;
  const value = await fn.call(holder, handlerArgument({
    approvalData: globalsData.approvalData,
    comment: globalsData.comment === undefined ? null : globalsData.comment,
  }));
  return { kind: 'completed', value };
}

async function runScript(wrapper) {
  const module = { exports: {} };
  const body = wrapper(module, module.exports);
  if (config.entry === 'onApproved') {
    await Promise.race([body, halted]);
    return callOnApproved(module.exports);
  }
  const returned = await body;
  const exported = module.exports;
  const handler = pickHandler(exported);
  if (handler) return { kind: 'completed', value: await handler.call(exported, handlerArgument()) };
  return { kind: 'completed', value: returned !== undefined ? returned : G.results };
}

// namespace: the user module's; runtimeNamespace: a module whose "ready"
// export the entry module calls once the user module finished evaluating.
async function runModule(namespace, runtimeNamespace) {
  const ready = new Promise((resolve) => runtimeNamespace.set(resolve));
  if (config.entry === 'onApproved') {
    await Promise.race([ready, halted]);
    return callOnApproved(namespace);
  }
  await ready;
  const exported = namespace.default;
  const handler = typeof exported === 'function' ? exported : typeof namespace.handler === 'function' ? namespace.handler : undefined;
  if (handler) return { kind: 'completed', value: await handler.call(undefined, handlerArgument()) };
  return { kind: 'completed', value: exported !== undefined ? exported : G.results };
}

// A classic script's run started by 'scriptNow' (a synchronous call from the
// host). Whatever settles within that call, microtasks included, is reported
// through hostSync('done') before the call returns; after that the host asks
// for the promise ('await') and nothing more is reported. Captured before any
// script runs: a script that patches Promise.prototype.then or Reflect.apply
// does not see this.
const $apply = Reflect.apply;
const $then = Promise.prototype.then;
let started;
function reportNow(outcome) {
  if (!inSlice) return;
  inSlice = false;
  if (outcome.kind === 'completed') hostSync('done', 'completed', outcome.output);
  else if (outcome.kind === 'suspended') hostSync('done', 'suspended', outcome.approval);
  else hostSync('done', 'failed', $stringify(outcome));
}

function dispatch(op, a, b, c) {
  switch (op) {
    case 'script': return complete(runScript(a));
    case 'scriptNow':
      inSlice = true;
      started = complete(runScript(a));
      $apply($then, started, [reportNow]);
      return undefined;
    case 'await':
      inSlice = false;
      return started;
    case 'module': return complete(runModule(a, b));
    case 'settle': settleCall(a, b, c); return undefined;
    case 'timers': return runDueTimers();
    default: throw new Error('unknown dispatch op');
  }
}

// Once per context, before any of the run's code: the run's settings and globals.
let begun = false;
return function begin(globalsJson, configJson) {
  if (begun) throw new Error('the runtime was already begun in this context');
  begun = true;
  config = $parse(configJson);
  globalsData = $parse(globalsJson);
  setRunGlobal('input', globalsData.input);
  setRunGlobal('context', deepFreeze(globalsData.context !== null && typeof globalsData.context === 'object' ? globalsData.context : {}));
  setRunGlobal('eventData', globalsData.eventData);
  setRunGlobal('requestUser', globalsData.requestUser);
  // A surface's extra handler fields (ApiRun: eventName, apiKey, scriptId) come
  // first, so they can never shadow a global.
  handlerExtras = globalsData.handlerExtras !== null && typeof globalsData.handlerExtras === 'object'
    ? deepFreeze(globalsData.handlerExtras) : null;
  return dispatch;
};
`;
