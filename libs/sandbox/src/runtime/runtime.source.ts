import { BRIDGE_SOURCE } from './bridge.source';
import { CONSOLE_FORMAT_SOURCE } from './console-format.source';
import { DISPATCH_SOURCE } from './dispatch.source';
import { ENCODING_SOURCE } from './encoding.source';
import { FETCH_SOURCE } from './fetch.source';
import { TIMERS_SOURCE } from './timers.source';
import { URL_SOURCE } from './url.source';

/** Frames from this file are runtime internals; stacks shown to users drop them. */
export const RUNTIME_FILENAME = 'kiln:runtime';

/**
 * Memoised builders for the runtime's heavier parts (classes, regular
 * expressions, lookup tables). Every run gets a fresh context, so whatever the
 * runtime builds up front is built again for every run; what most scripts never
 * touch is built on first use instead, once per context, and never shared
 * between contexts. Globals backed by them are accessors that turn into plain
 * data properties on first read or write (`defineLazyGlobal`, DISPATCH_SOURCE).
 * Built-ins that the lazy parts extend are captured here, before any script
 * runs, so they are the same ones an eager runtime would have used.
 */
const LAZY_SOURCE = String.raw`
const $Error = Error;
const $defineProperty = Object.defineProperty;
const $getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
function lazy(build) {
  let value;
  let built = false;
  return function () {
    if (!built) {
      value = build();
      built = true;
    }
    return value;
  };
}
`;

/**
 * The whole in-isolate runtime as one function expression. Compiled once per
 * isolate and run in every fresh context. It is applied in two steps, so that
 * everything that is the same for every run can be done before the run is
 * known (IsolateCache prewarms idle isolates): calling it with the host
 * callbacks installs the runtime and the globals that do not depend on the
 * run and returns `begin`; `begin(globalsJson, configJson)` installs the
 * run's own globals (input, context, eventData, requestUser) and settings and
 * returns the dispatcher. Everything it defines lives in its closure unless
 * `DISPATCH_SOURCE` puts it on the global object.
 *
 * Parameters: hostSync(op, ...args), one synchronous host callback for
 * ('log', level, message, metaJson?) → boolean (keep logging),
 * ('arm', delayMs), ('random', byteCount) → ArrayBuffer, and, within the
 * synchronous call that started a run (DISPATCH_SOURCE, 'scriptNow'),
 * ('call', callId, op, argsJson) for host calls and ('done', kind, payload)
 * for a run settled there; hostSend(callId,
 * op, argsJson) (fire and forget). begin: globalsJson; configJson
 * ({entry, maxOutputBytes, maxLogBytes}).
 */
export const RUNTIME_SOURCE = [
  '(function (hostSync, hostSend) {',
  "'use strict';",
  LAZY_SOURCE,
  ENCODING_SOURCE,
  // URL and URLSearchParams with their parser, built on first use.
  'const urlClasses = lazy(function () {',
  URL_SOURCE,
  'return { URL, URLSearchParams };',
  '});',
  CONSOLE_FORMAT_SOURCE,
  BRIDGE_SOURCE,
  TIMERS_SOURCE,
  FETCH_SOURCE,
  DISPATCH_SOURCE,
  '})',
].join('\n');
