import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parseYamlStream, type K8sObject } from './manifests';

// Validators for Kubernetes objects, built offline from the vendored schemas
// in ../schemas (see its README for sources and versions):
//  - built-in kinds: the official OpenAPI v2 definitions of Kubernetes,
//    pruned to the kinds Kiln uses (kubernetes-<version>.json);
//  - KEDA's ScaledObject and TriggerAuthentication: the openAPIV3Schema of
//    KEDA's own CRDs.
// Two things are added at load time, to match what `kubectl apply` (strict
// field validation) and the API server do:
//  - unknown fields are errors (the published schemas leave
//    additionalProperties open; the server rejects unknown fields);
//  - int-or-string and resource quantities accept YAML numbers.

const SCHEMAS = path.join(__dirname, '..', 'schemas');

/** Oldest and newest Kubernetes minor versions the manifests must fit. */
export const KUBERNETES_VERSIONS = ['1.32', '1.36'] as const;
export const KEDA_VERSION = '2.20.2';
const KEDA_CRDS = ['scaledobjects.keda.sh', 'triggerauthentications.keda.sh'];

type Schema = Record<string, unknown>;

/** Applies `fn` to every subschema, rebuilding the tree bottom-up. */
function mapSchema(node: unknown, fn: (s: Schema) => Schema): unknown {
  if (Array.isArray(node)) return node.map((n) => mapSchema(n, fn));
  if (!node || typeof node !== 'object') return node;
  const s = { ...(node as Schema) };
  for (const k of ['properties', 'patternProperties', 'definitions']) {
    if (s[k]) s[k] = Object.fromEntries(Object.entries(s[k] as Schema).map(([name, sub]) => [name, mapSchema(sub, fn)]));
  }
  for (const k of ['items', 'additionalProperties', 'not']) {
    if (s[k] && typeof s[k] === 'object') s[k] = mapSchema(s[k], fn);
  }
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    if (Array.isArray(s[k])) s[k] = (s[k] as unknown[]).map((sub) => mapSchema(sub, fn));
  }
  return fn(s);
}

function tighten(s: Schema): Schema {
  if (s.format === 'int-or-string') {
    const { format: _f, type: _t, ...rest } = s;
    return { ...rest, type: ['integer', 'string'] };
  }
  if (s.properties && s.additionalProperties === undefined && !s['x-kubernetes-preserve-unknown-fields']) {
    return { ...s, additionalProperties: false };
  }
  return s;
}

function newAjv(): Ajv {
  // strict: false because the schemas carry x-kubernetes-* annotations that
  // are not JSON Schema keywords.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const inRange = (min: number, max: number) => (n: number) => Number.isInteger(n) && n >= min && n <= max;
  ajv.addFormat('int32', { type: 'number', validate: inRange(-(2 ** 31), 2 ** 31 - 1) });
  ajv.addFormat('int64', { type: 'number', validate: inRange(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  return ajv;
}

interface Gvk {
  group: string;
  version: string;
  kind: string;
}
const apiVersionOf = (g: Gvk) => (g.group ? `${g.group}/${g.version}` : g.version);

export function readKubernetesDefinitions(version: string): Record<string, Schema> {
  const file = path.join(SCHEMAS, `kubernetes-${version}.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { definitions: Record<string, Schema> }).definitions;
}

export function readKedaCrd(name: string): { group: string; kind: string; versions: { name: string; served: boolean; schema: Schema }[] } {
  const file = path.join(SCHEMAS, `keda-${KEDA_VERSION}.${name}.yaml`);
  const [crd] = parseYamlStream(readFileSync(file, 'utf8'), file, '1.2') as {
    spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: Schema } }[] };
  }[];
  if (!crd) throw new Error(`${file} holds no CRD`);
  return {
    group: crd.spec.group,
    kind: crd.spec.names.kind,
    versions: crd.spec.versions.map((v) => ({ name: v.name, served: v.served, schema: v.schema.openAPIV3Schema })),
  };
}

export interface ObjectValidator {
  /** Schema errors, [] when valid; throws when no schema knows the kind. */
  validate(object: K8sObject): string[];
  /** `apiVersion kind` pairs the validator knows. */
  kinds(): string[];
}

export function kubernetesValidator(version: string): ObjectValidator {
  const ajv = newAjv();
  const defsId = `kubernetes-${version}`;
  const definitions = Object.fromEntries(
    Object.entries(readKubernetesDefinitions(version)).map(([name, def]) => {
      let schema = mapSchema(def, tighten) as Schema;
      // Quantities ("500m", "1Gi") are also written as plain YAML numbers.
      if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') schema = { ...schema, type: ['string', 'number'] };
      return [name, schema];
    }),
  );
  ajv.addSchema({ $id: defsId, definitions });

  // Every object must name itself exactly: apiVersion, kind, metadata.name.
  const identity = (apiVersion: string, kind: string): Schema => ({
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata'],
    properties: {
      apiVersion: { const: apiVersion },
      kind: { const: kind },
      metadata: { type: 'object', required: ['name'] },
    },
  });

  const byKind = new Map<string, () => ValidateFunction>();
  const lazily = (schema: Schema) => {
    let compiled: ValidateFunction | undefined;
    return () => (compiled ??= ajv.compile(schema));
  };

  for (const [name, def] of Object.entries(definitions)) {
    for (const gvk of (def['x-kubernetes-group-version-kind'] as Gvk[] | undefined) ?? []) {
      const apiVersion = apiVersionOf(gvk);
      byKind.set(`${apiVersion} ${gvk.kind}`, lazily({ allOf: [{ $ref: `${defsId}#/definitions/${name}` }, identity(apiVersion, gvk.kind)] }));
    }
  }

  for (const crdName of KEDA_CRDS) {
    const crd = readKedaCrd(crdName);
    for (const v of crd.versions.filter((x) => x.served)) {
      const apiVersion = `${crd.group}/${v.name}`;
      const schema = mapSchema(v.schema, tighten) as Schema;
      // A CRD schema types metadata only as `object`; the API server applies
      // ObjectMeta to it, so the tests do too.
      const properties = { ...(schema.properties as Schema), metadata: { $ref: `${defsId}#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta` } };
      byKind.set(`${apiVersion} ${crd.kind}`, lazily({ allOf: [{ ...schema, properties }, identity(apiVersion, crd.kind)] }));
    }
  }

  return {
    kinds: () => [...byKind.keys()].sort(),
    validate(object) {
      const id = `${object?.apiVersion} ${object?.kind}`;
      const get = byKind.get(id);
      if (!get) throw new Error(`no schema for "${id}" in Kubernetes ${version} or KEDA ${KEDA_VERSION}`);
      const validate = get();
      return validate(object) ? [] : formatErrors(validate.errors ?? []);
    },
  };
}

function formatErrors(errors: ErrorObject[]): string[] {
  // allOf/anyOf produce a summary error per branch; the specific ones say more.
  return errors
    .filter((e) => !['allOf', 'anyOf', 'oneOf', 'if'].includes(e.keyword))
    .map((e) => {
      const at = e.instancePath || '/';
      if (e.keyword === 'additionalProperties') return `${at}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      if (e.keyword === 'const') return `${at}: must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
      return `${at}: ${e.message}`;
    });
}
