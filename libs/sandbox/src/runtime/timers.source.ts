/**
 * In-isolate timers. Pending timers live in a min-heap inside the isolate;
 * the host keeps a single timer per run, armed for the earliest deadline
 * (`hostSync('arm', delayMs)`), and calls `runDueTimers()` when it fires. So 10,000
 * timers cost one host timer, and a finished run leaves nothing behind: the
 * host drops its timer with the run. `failRun` (BRIDGE_SOURCE) receives
 * errors thrown by callbacks, as Node would crash on them.
 */
export const TIMERS_SOURCE = String.raw`
const MAX_PENDING_TIMERS = 10000;
const MAX_DELAY_MS = 2147483647;
const timerCallbacks = new Map();
const timerHeap = [];
let nextTimerId = 1;
let armedDue = Infinity;

const timerBefore = (a, b) => a.due < b.due || (a.due === b.due && a.id < b.id);

function heapPush(entry) {
  timerHeap.push(entry);
  let i = timerHeap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!timerBefore(timerHeap[i], timerHeap[parent])) break;
    [timerHeap[i], timerHeap[parent]] = [timerHeap[parent], timerHeap[i]];
    i = parent;
  }
}

function heapPop() {
  const top = timerHeap[0];
  const last = timerHeap.pop();
  if (timerHeap.length > 0) {
    timerHeap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < timerHeap.length && timerBefore(timerHeap[l], timerHeap[m])) m = l;
      if (r < timerHeap.length && timerBefore(timerHeap[r], timerHeap[m])) m = r;
      if (m === i) break;
      [timerHeap[i], timerHeap[m]] = [timerHeap[m], timerHeap[i]];
      i = m;
    }
  }
  return top;
}

// Cleared timers stay in the heap until they surface; skip them here.
function earliestPending() {
  while (timerHeap.length > 0 && !timerCallbacks.has(timerHeap[0].id)) heapPop();
  return timerHeap.length > 0 ? timerHeap[0] : null;
}

function setTimeout(callback, delay, ...args) {
  if (typeof callback !== 'function') throw new TypeError('The "callback" argument must be of type function');
  if (timerCallbacks.size >= MAX_PENDING_TIMERS) {
    throw new RangeError('Too many pending timers: a run may have at most ' + MAX_PENDING_TIMERS + ' timers at once');
  }
  let ms = Number(delay);
  if (!(ms >= 1)) ms = 1;
  if (ms > MAX_DELAY_MS) ms = 1;
  const id = nextTimerId++;
  const due = Date.now() + ms;
  timerCallbacks.set(id, { callback, args });
  heapPush({ id, due });
  if (due < armedDue) {
    armedDue = due;
    hostSync('arm', ms);
  }
  return id;
}

function clearTimeout(id) {
  timerCallbacks.delete(Number(id));
}

// Runs every timer that is due; returns the delay to arm next, or -1 when the
// host timer already covers the earliest pending deadline (or none is left).
function runDueTimers() {
  armedDue = Infinity;
  const now = Date.now();
  for (let entry = earliestPending(); entry !== null && entry.due <= now; entry = earliestPending()) {
    heapPop();
    const timer = timerCallbacks.get(entry.id);
    timerCallbacks.delete(entry.id);
    try {
      timer.callback(...timer.args);
    } catch (error) {
      failRun(error);
      return -1;
    }
  }
  const next = earliestPending();
  if (next === null || next.due >= armedDue) return -1;
  armedDue = next.due;
  return Math.max(0, next.due - Date.now());
}
`;
