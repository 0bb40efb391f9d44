// Container health check: GET /health/live on this app's own port.
//
//   node docker/healthcheck.cjs <PORT variable> <default port>
//
// The slim base image has neither curl nor wget, and the port is whatever
// the app's configuration says (PORT, KILN_WORKER_PORT, KILN_NOTIFIER_PORT),
// so the check reads the same variable. Exit 0 = healthy, 1 = not.
'use strict';
const http = require('node:http');

const [portVariable, defaultPort] = process.argv.slice(2);
const port = Number(process.env[portVariable] || defaultPort);
// An app bound to every interface answers on loopback; one bound to a
// single address (HOST) answers only there.
const bound = process.env.HOST || '0.0.0.0';
const host = bound === '0.0.0.0' ? '127.0.0.1' : bound === '::' ? '::1' : bound;

const req = http.get({ host, port, path: '/health/live', timeout: 3000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (err) => {
  console.error(`healthcheck: ${host}:${port}: ${err.message}`);
  process.exit(1);
});
