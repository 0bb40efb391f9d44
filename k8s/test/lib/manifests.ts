import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const K8S = path.join(REPO, 'k8s');

/** The fields these tests read; the schemas check the rest. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Manifests are free-form below metadata; each test narrows what it reads.
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface Loaded {
  /** Repo-relative path, then `#<document index>`: where a failure points. */
  where: string;
  object: K8sObject;
}

/**
 * Parses every document of a YAML stream, failing on any syntax error or
 * duplicate key. Kubernetes decodes manifests with YAML 1.1 rules (`on`,
 * `yes` and `no` are booleans), so that is the version used here: a value
 * that would change type on the way into the cluster shows up as a schema
 * error instead of passing as a string.
 */
export function parseYamlStream(text: string, file: string, version: '1.1' | '1.2' = '1.1'): unknown[] {
  const docs = parseAllDocuments(text, { version, uniqueKeys: true, merge: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  return list.map((doc, i) => {
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) throw new Error(`${file}#${i}: ${problem.message}`);
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  });
}

/** Every `.yaml` under `dir` (recursively), kustomization files excluded. */
export function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'test') out.push(...yamlFilesUnder(full));
    } else if (/\.ya?ml$/.test(entry.name) && !/^kustomization\.ya?ml$/.test(entry.name)) {
      out.push(full);
    }
  }
  return out.sort();
}

export function loadObjects(files: string[]): Loaded[] {
  return files.flatMap((file) => parseObjects(readFileSync(file, 'utf8'), path.relative(REPO, file)));
}

export function parseObjects(text: string, file: string): Loaded[] {
  return parseYamlStream(text, file).flatMap((doc, i) => (doc == null ? [] : [{ where: `${file}#${i}`, object: doc as K8sObject }]));
}

export const key = (o: K8sObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

/** Does a label selector's matchLabels select these labels? */
export function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!matchLabels || Object.keys(matchLabels).length === 0) return false;
  return Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v);
}
