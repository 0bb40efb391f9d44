#!/usr/bin/env node
// Regenerates kubernetes-<version>.json from an official Kubernetes OpenAPI v2
// document (api/openapi-spec/swagger.json of kubernetes/kubernetes, or the
// unmodified copy kubernetes-client/javascript keeps as
// src/gen/swagger.json.unprocessed):
//
//   node k8s/test/schemas/prune-kubernetes-swagger.mjs <swagger.json> <version> '<source note>'
//
// It keeps the definitions reachable from the kinds listed below and drops
// `description` fields (prose, no validation meaning), so the vendored file is
// ~100 kB instead of 4 MB. Nothing else is changed: validation semantics
// (strict unknown fields, int-or-string, quantities) are applied when the
// tests load the file (k8s/test/lib/schemas.ts), not baked in here.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Kinds Kiln's manifests use, plus the few an operator's overlay is likely to
// add (StatefulSet, CronJob, Ingress, NetworkPolicy, ServiceAccount).
const KINDS = [
  ['', 'v1', 'Namespace'],
  ['', 'v1', 'ConfigMap'],
  ['', 'v1', 'Secret'],
  ['', 'v1', 'Service'],
  ['', 'v1', 'ServiceAccount'],
  ['apps', 'v1', 'Deployment'],
  ['apps', 'v1', 'StatefulSet'],
  ['batch', 'v1', 'Job'],
  ['batch', 'v1', 'CronJob'],
  ['policy', 'v1', 'PodDisruptionBudget'],
  ['autoscaling', 'v2', 'HorizontalPodAutoscaler'],
  ['networking.k8s.io', 'v1', 'NetworkPolicy'],
  ['networking.k8s.io', 'v1', 'Ingress'],
];

const [input, version, note] = process.argv.slice(2);
if (!input || !version) {
  console.error('usage: prune-kubernetes-swagger.mjs <swagger.json> <version> [source note]');
  process.exit(2);
}
const raw = readFileSync(input);
const { definitions } = JSON.parse(raw.toString('utf8'));

const roots = KINDS.map(([group, v, kind]) => {
  const name = Object.keys(definitions).find((n) =>
    (definitions[n]['x-kubernetes-group-version-kind'] ?? []).some((g) => g.group === group && g.version === v && g.kind === kind),
  );
  if (!name) throw new Error(`${group || 'core'}/${v} ${kind} is not in ${input}`);
  return name;
});

const keep = new Set();
const pending = [...roots];
while (pending.length) {
  const name = pending.pop();
  if (keep.has(name)) continue;
  keep.add(name);
  JSON.stringify(definitions[name], (key, value) => {
    if (key === '$ref') pending.push(value.replace('#/definitions/', ''));
    return value;
  });
}

const withoutDescriptions = (node) =>
  Array.isArray(node)
    ? node.map(withoutDescriptions)
    : node && typeof node === 'object'
      ? Object.fromEntries(Object.entries(node).filter(([k]) => k !== 'description').map(([k, v]) => [k, withoutDescriptions(v)]))
      : node;

const out = {
  'x-kiln-source': {
    kubernetes: version,
    from: note ?? input,
    sha256OfInput: createHash('sha256').update(raw).digest('hex'),
    kinds: KINDS.map(([g, v, k]) => `${g ? `${g}/` : ''}${v} ${k}`),
    changes: 'pruned to definitions reachable from kinds; description fields removed',
  },
  definitions: Object.fromEntries([...keep].sort().map((n) => [n, withoutDescriptions(definitions[n])])),
};
const target = path.join(path.dirname(fileURLToPath(import.meta.url)), `kubernetes-${version}.json`);
writeFileSync(target, `${JSON.stringify(out, null, 1)}\n`);
console.log(`${target}: ${keep.size} definitions`);
