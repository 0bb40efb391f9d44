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
 * The whole in-isolate runtime as one function expression. Compiled once per
 * isolate and run in every fresh context; calling it with the host callbacks
 * installs the globals and returns the dispatcher. Everything it defines lives
 * in its closure unless `DISPATCH_SOURCE` puts it on the global object.
 *
 * Parameters: logHost(level, message, metaJson?) → boolean (keep logging),
 * hostSend(callId, op, argsJson) (fire and forget), armHost(delayMs),
 * randomHost(byteCount) → ArrayBuffer, globalsJson, configJson
 * ({entry, maxOutputBytes, maxLogBytes}).
 */
export const RUNTIME_SOURCE = [
  '(function (logHost, hostSend, armHost, randomHost, globalsJson, configJson) {',
  "'use strict';",
  ENCODING_SOURCE,
  URL_SOURCE,
  CONSOLE_FORMAT_SOURCE,
  BRIDGE_SOURCE,
  TIMERS_SOURCE,
  FETCH_SOURCE,
  DISPATCH_SOURCE,
  '})',
].join('\n');
