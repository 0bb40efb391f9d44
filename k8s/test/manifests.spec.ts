import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeKey } from '../../libs/config/src/env-schema';
import { KILN_ENV_NAMES, kilnConfigFor } from './lib/kiln-env';
import { K8S, REPO, key, loadObjects, parseObjects, parseYamlStream, selects, yamlFilesUnder, type K8sObject, type Loaded } from './lib/manifests';
import { KUBERNETES_VERSIONS, kubernetesValidator } from './lib/schemas';

// The manifests in k8s/base, checked three ways: each object against the
// official schema of its kind (Kubernetes 1.32 and 1.36, KEDA 2.20), the
// objects against each other (selectors, ports, names), and the settings
// against what Kiln itself reads (libs/config/src/env-schema.ts).

type Any = any;

const BASE = path.join(K8S, 'base');
const baseFiles = yamlFilesUnder(BASE);
const loaded = loadObjects(baseFiles);
const objects = loaded.map((l) => l.object);
const kustomization = parseYamlStream(readFileSync(path.join(BASE, 'kustomization.yaml'), 'utf8'), 'kustomization.yaml')[0] as Any;

const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const deployments = ofKind('Deployment');
const configMap = find('ConfigMap', 'kiln-config');
const config = kilnConfigFor(configMap?.data ?? {});

/** Pod templates with where they come from (Deployments and the Job). */
const podTemplates = [...deployments, ...ofKind('Job')].map((o) => ({ owner: `${o.kind}/${o.metadata.name}`, object: o, pod: o.spec.template }));

/** The port variable and health port name each app's configuration uses. */
const APP_PORTS: Record<string, { variable: 'PORT' | 'KILN_WORKER_PORT' | 'KILN_NOTIFIER_PORT'; port: number }> = {
  gateway: { variable: 'PORT', port: config.PORT },
  worker: { variable: 'KILN_WORKER_PORT', port: config.KILN_WORKER_PORT },
  notifier: { variable: 'KILN_NOTIFIER_PORT', port: config.KILN_NOTIFIER_PORT },
};

const componentOf = (o: K8sObject) => o.metadata.labels?.['app.kubernetes.io/component'] ?? '';
const containersOf = (pod: Any): Any[] => pod.spec.containers ?? [];
const portNumber = (container: Any, port: string | number): number | undefined =>
  typeof port === 'number' ? container.ports?.find((p: Any) => p.containerPort === port)?.containerPort : container.ports?.find((p: Any) => p.name === port)?.containerPort;

describe('k8s manifests: files', () => {
  it('every YAML file under k8s/ parses with unique keys and holds named objects', () => {
    const files = yamlFilesUnder(K8S);
    expect(files.length).toBeGreaterThan(0);
    for (const file of [...files, ...findKustomizations(K8S)]) {
      const docs = parseYamlStream(readFileSync(file, 'utf8'), path.relative(REPO, file));
      for (const doc of docs.filter((d) => d != null) as Any[]) {
        expect({ file, apiVersion: typeof doc.apiVersion, kind: typeof doc.kind }).toEqual({ file, apiVersion: 'string', kind: 'string' });
        if (doc.kind !== 'Kustomization') expect({ file, name: typeof doc.metadata?.name }).toEqual({ file, name: 'string' });
      }
    }
  });

  it('kustomization.yaml lists exactly the manifests in k8s/base', () => {
    const listed = (kustomization.resources as string[]).map((r) => path.join(BASE, r)).sort();
    expect(listed).toEqual(baseFiles);
  });

  it('no two objects share kind, namespace and name', () => {
    const keys = objects.map(key);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it('every namespaced object is in the namespace the kustomization sets, which the manifests create', () => {
    expect(kustomization.namespace).toBe('kiln');
    expect(find('Namespace', kustomization.namespace)).toBeDefined();
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) {
      expect({ object: key(o), namespace: o.metadata.namespace }).toEqual({ object: key(o), namespace: kustomization.namespace });
    }
  });
});

describe.each(KUBERNETES_VERSIONS)('k8s manifests: schemas of Kubernetes %s and KEDA', (version) => {
  const validator = kubernetesValidator(version);

  it.each(loaded.map((l) => [l.where, l] as const))('%s is valid', (_where, l: Loaded) => {
    expect(validator.validate(l.object)).toEqual([]);
  });

  // The validator must be able to say no, or the test above proves nothing.
  describe('rejects what the API server would reject', () => {
    const gateway = () => structuredClone(find('Deployment', 'kiln-gateway')!) as Any;
    const scaledObject = () => structuredClone(find('ScaledObject', 'kiln-worker')!) as Any;

    it('an unknown field', () => {
      const d = gateway();
      d.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
      expect(validator.validate(d)).toContainEqual('/spec/template/spec/containers/0: unknown field "imagePullPolicyy"');
    });

    it('a missing required field', () => {
      const d = gateway();
      delete d.spec.template.spec.containers[0].name;
      expect(validator.validate(d).join('\n')).toContain("must have required property 'name'");
    });

    it('a value of the wrong type (an unquoted boolean annotation)', () => {
      const d = gateway();
      d.spec.template.metadata.annotations['prometheus.io/scrape'] = true;
      expect(validator.validate(d).join('\n')).toContain('/spec/template/metadata/annotations/prometheus.io~1scrape: must be string');
    });

    it('an apiVersion the cluster does not serve', () => {
      expect(() => validator.validate({ ...gateway(), apiVersion: 'extensions/v1beta1' })).toThrow('no schema for "extensions/v1beta1 Deployment"');
    });

    it('a KEDA trigger without a type, and a replica count as a string', () => {
      const s = scaledObject();
      delete s.spec.triggers[0].type;
      s.spec.minReplicaCount = '2';
      const errors = validator.validate(s).join('\n');
      expect(errors).toContain("/spec/triggers/0: must have required property 'type'");
      expect(errors).toContain('/spec/minReplicaCount: must be integer');
    });
  });
});

describe('k8s manifests: consistency', () => {
  it('covers gateway, worker and notifier', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['kiln-gateway', 'kiln-notifier', 'kiln-worker']);
  });

  it('each Deployment selects its own pods and no other Deployment’s', () => {
    for (const d of deployments) {
      const selector = d.spec.selector.matchLabels;
      expect({ d: d.metadata.name, selectsOwnPods: selects(selector, d.spec.template.metadata.labels) }).toEqual({ d: d.metadata.name, selectsOwnPods: true });
      const others = deployments.filter((o) => o !== d && selects(selector, o.spec.template.metadata.labels));
      expect({ d: d.metadata.name, alsoSelects: others.map((o) => o.metadata.name) }).toEqual({ d: d.metadata.name, alsoSelects: [] });
    }
  });

  it('each Deployment has one Service and one PodDisruptionBudget selecting its pods', () => {
    for (const d of deployments) {
      const labels = d.spec.template.metadata.labels;
      const services = ofKind('Service').filter((s) => selects(s.spec.selector, labels));
      const pdbs = ofKind('PodDisruptionBudget').filter((p) => selects(p.spec.selector.matchLabels, labels));
      expect({ d: d.metadata.name, services: services.length, pdbs: pdbs.length }).toEqual({ d: d.metadata.name, services: 1, pdbs: 1 });
    }
    // …and every Service and PDB selects some Deployment's pods.
    for (const o of [...ofKind('Service'), ...ofKind('PodDisruptionBudget')]) {
      const selector = o.kind === 'Service' ? o.spec.selector : o.spec.selector.matchLabels;
      expect({ o: key(o), selects: deployments.filter((d) => selects(selector, d.spec.template.metadata.labels)).length }).toEqual({ o: key(o), selects: 1 });
    }
  });

  it('Service ports target ports the containers declare; the gateway is ClusterIP 80 → 3000', () => {
    for (const s of ofKind('Service')) {
      const [d] = deployments.filter((x) => selects(s.spec.selector, x.spec.template.metadata.labels));
      for (const p of s.spec.ports) {
        const target = containersOf(d!.spec.template).map((c) => portNumber(c, p.targetPort ?? p.port)).find((n) => n !== undefined);
        expect({ service: s.metadata.name, port: p.name, target }).toEqual({ service: s.metadata.name, port: p.name, target: expect.any(Number) });
      }
    }
    const gw = find('Service', 'kiln-gateway')!;
    expect(gw.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(gw.spec.ports).toEqual([expect.objectContaining({ port: 80, targetPort: 'http' })]);
    expect(portNumber(containersOf(find('Deployment', 'kiln-gateway')!.spec.template)[0], 'http')).toBe(3000);
    for (const name of ['kiln-worker', 'kiln-notifier']) {
      expect(find('Service', name)!.spec.clusterIP).toBe('None');
    }
  });

  it('containers listen where the app is configured to, and probes and scrape annotations use those ports', () => {
    for (const d of deployments) {
      const app = APP_PORTS[componentOf(d)]!;
      const pod = d.spec.template;
      const [c] = containersOf(pod);
      expect({ d: d.metadata.name, ports: c.ports.map((p: Any) => p.containerPort) }).toEqual({ d: d.metadata.name, ports: [app.port] });
      expect(c.readinessProbe.httpGet).toEqual(expect.objectContaining({ path: '/health/ready' }));
      expect(c.livenessProbe.httpGet).toEqual(expect.objectContaining({ path: '/health/live' }));
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter(Boolean)) {
        expect({ d: d.metadata.name, probePort: portNumber(c, probe.httpGet.port) }).toEqual({ d: d.metadata.name, probePort: app.port });
      }
      expect(pod.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(app.port), 'prometheus.io/path': '/metrics' });
    }
  });

  it('HPA and KEDA each target an existing Deployment, one autoscaler per Deployment, which then sets no replica count', () => {
    const targets = [...ofKind('HorizontalPodAutoscaler'), ...ofKind('ScaledObject')].map((a) => {
      const ref = a.spec.scaleTargetRef;
      expect({ a: key(a), kind: ref.kind ?? 'Deployment', apiVersion: ref.apiVersion ?? 'apps/v1' }).toEqual({ a: key(a), kind: 'Deployment', apiVersion: 'apps/v1' });
      expect({ a: key(a), exists: Boolean(find('Deployment', ref.name)) }).toEqual({ a: key(a), exists: true });
      return ref.name as string;
    });
    expect(targets.sort()).toEqual(['kiln-gateway', 'kiln-worker']);
    for (const name of targets) expect({ name, replicas: find('Deployment', name)!.spec.replicas }).toEqual({ name, replicas: undefined });
  });

  it('the gateway HPA scales on CPU, which the gateway requests', () => {
    const hpa = find('HorizontalPodAutoscaler', 'kiln-gateway')!;
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(hpa.spec.metrics).toContainEqual({ type: 'Resource', resource: { name: 'cpu', target: expect.objectContaining({ type: 'Utilization' }) } });
    expect(containersOf(find('Deployment', 'kiln-gateway')!.spec.template)[0].resources.requests.cpu).toBeDefined();
  });

  it('KEDA scales the workers on the length of BullMQ’s wait list, <prefix>:executions:wait', () => {
    const so = find('ScaledObject', 'kiln-worker')!;
    const [trigger, ...more] = so.spec.triggers;
    expect(more).toEqual([]);
    expect(trigger.type).toBe('redis');
    expect(trigger.metadata.listName).toBe(`${config.KILN_REDIS_PREFIX}:executions:wait`);
    expect(Number(trigger.metadata.listLength)).toBeGreaterThan(0);
    expect(Number.isInteger(Number(trigger.metadata.listLength))).toBe(true);
    // The CRD's own CEL rule, which the JSON schema cannot express.
    expect(so.spec.minReplicaCount).toBeLessThanOrEqual(so.spec.maxReplicaCount);
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(so.spec.cooldownPeriod).toBeGreaterThan(0);
    // The address comes from the TriggerAuthentication, not twice.
    expect(trigger.metadata.address ?? trigger.metadata.addressFromEnv).toBeUndefined();
    const auth = find(trigger.authenticationRef.kind ?? 'TriggerAuthentication', trigger.authenticationRef.name)!;
    expect(auth).toBeDefined();
    const params = auth.spec.secretTargetRef.map((r: Any) => r.parameter).sort();
    expect(params).toEqual(['address', 'password']);
    for (const ref of auth.spec.secretTargetRef) {
      const secret = find('Secret', ref.name);
      expect({ ref: `${ref.name}/${ref.key}`, exists: Object.keys({ ...secret?.data, ...secret?.stringData }).includes(ref.key) }).toEqual({ ref: `${ref.name}/${ref.key}`, exists: true });
    }
  });

  it('every environment variable a pod gets is one Kiln reads, from a ConfigMap or Secret that exists', () => {
    for (const { owner, pod } of podTemplates) {
      for (const c of containersOf(pod)) {
        const names: string[] = (c.env ?? []).map((e: Any) => e.name);
        for (const from of c.envFrom ?? []) {
          const source = from.configMapRef ? find('ConfigMap', from.configMapRef.name) : find('Secret', from.secretRef.name);
          expect({ owner, envFrom: from, exists: Boolean(source) }).toEqual({ owner, envFrom: from, exists: true });
          names.push(...Object.keys({ ...source?.data, ...source?.stringData }).map((k) => `${from.prefix ?? ''}${k}`));
        }
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
          if (!ref) continue;
          const source = find(e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap', ref.name);
          expect({ owner, ref, exists: Object.keys({ ...source?.data, ...source?.stringData }).includes(ref.key) }).toEqual({ owner, ref, exists: true });
        }
        expect({ owner, unknown: names.filter((n) => !KILN_ENV_NAMES.has(n)) }).toEqual({ owner, unknown: [] });
      }
    }
  });

  it('the ConfigMap holds valid Kiln settings', () => {
    expect(() => kilnConfigFor(configMap!.data ?? {})).not.toThrow();
  });

  it('the Secrets are templates: every app secret is present, none is a usable key', () => {
    const secret = find('Secret', 'kiln-secrets')!;
    expect(Object.keys(secret.stringData ?? {}).sort()).toEqual(['DATABASE_URL', 'KILN_ADMIN_KEY', 'KILN_ENCRYPTION_KEY', 'KILN_METRICS_TOKEN', 'REDIS_URL']);
    expect(decodeKey(secret.stringData!.KILN_ENCRYPTION_KEY!)).toBeNull();
    expect(secret.stringData!.KILN_ADMIN_KEY).toBe('');
    expect(secret.stringData!.KILN_METRICS_TOKEN).toBe('');
  });

  it('pods meet Pod Security "restricted": non-root, no privileges, read-only root with an emptyDir /tmp', () => {
    expect(find('Namespace', 'kiln')!.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const { owner, pod } of podTemplates) {
      const spec = pod.spec;
      expect({ owner, podSecurity: spec.securityContext }).toEqual({
        owner,
        podSecurity: expect.objectContaining({ runAsNonRoot: true, runAsUser: expect.any(Number), seccompProfile: { type: 'RuntimeDefault' } }),
      });
      expect(spec.securityContext.runAsUser).toBeGreaterThan(0);
      expect({ owner, hostNetwork: spec.hostNetwork, hostPID: spec.hostPID, automount: spec.automountServiceAccountToken }).toEqual({ owner, hostNetwork: undefined, hostPID: undefined, automount: false });
      for (const v of spec.volumes ?? []) expect({ owner, volume: v.name, kind: Object.keys(v).filter((k) => k !== 'name') }).toEqual({ owner, volume: v.name, kind: ['emptyDir'] });
      for (const c of containersOf(pod)) {
        expect({ owner, security: c.securityContext }).toEqual({
          owner,
          security: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        });
        const tmp = (c.volumeMounts ?? []).find((m: Any) => m.mountPath === '/tmp');
        expect({ owner, tmpIsEmptyDir: Boolean(tmp && spec.volumes.find((v: Any) => v.name === tmp.name)?.emptyDir) }).toEqual({ owner, tmpIsEmptyDir: true });
      }
    }
  });

  it('no pod gets Service link variables, which would collide with Kiln settings', () => {
    // A Service named kiln-worker makes Kubernetes set KILN_WORKER_PORT=tcp://…
    // in every pod of the namespace that has service links on.
    const collisions = ofKind('Service')
      .map((s) => `${s.metadata.name.toUpperCase().replaceAll('-', '_')}_PORT`)
      .filter((v) => KILN_ENV_NAMES.has(v));
    expect(collisions.length).toBeGreaterThan(0); // why the rule below exists
    for (const { owner, pod } of podTemplates) expect({ owner, enableServiceLinks: pod.spec.enableServiceLinks }).toEqual({ owner, enableServiceLinks: false });
  });

  it('terminationGracePeriodSeconds outlasts KILN_SHUTDOWN_GRACE_MS plus any preStop pause', () => {
    for (const d of deployments) {
      const spec = d.spec.template.spec;
      const preStopMs = Math.max(0, ...containersOf(d.spec.template).map((c) => sleepSeconds(c.lifecycle?.preStop) * 1000));
      const needed = config.KILN_SHUTDOWN_GRACE_MS + preStopMs;
      expect({ d: d.metadata.name, enough: spec.terminationGracePeriodSeconds * 1000 > needed }).toEqual({ d: d.metadata.name, enough: true });
    }
  });

  it('every container requests and limits CPU and memory, requests within limits', () => {
    for (const { owner, pod } of podTemplates) {
      for (const c of containersOf(pod)) {
        const { requests, limits } = c.resources ?? {};
        for (const r of ['cpu', 'memory']) {
          expect({ owner, r, request: typeof requests?.[r], limit: typeof limits?.[r] }).toEqual({ owner, r, request: 'string', limit: 'string' });
          expect({ owner, r, withinLimit: quantity(requests[r]) <= quantity(limits[r]) }).toEqual({ owner, r, withinLimit: true });
        }
      }
    }
  });

  it('workers spread over nodes', () => {
    const pod = find('Deployment', 'kiln-worker')!.spec.template;
    const spreads = (pod.spec.topologySpreadConstraints ?? []).filter((t: Any) => t.topologyKey === 'kubernetes.io/hostname' && selects(t.labelSelector.matchLabels, pod.metadata.labels));
    const antiAffinity = pod.spec.affinity?.podAntiAffinity;
    expect(spreads.length > 0 || Boolean(antiAffinity)).toBe(true);
  });

  it('images are the Dockerfile targets: each Deployment runs its app, the Job runs migrate', () => {
    const targets = [...readFileSync(path.join(REPO, 'docker', 'Dockerfile'), 'utf8').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);
    for (const { owner, object, pod } of podTemplates) {
      const expected = object.kind === 'Job' ? 'migrate' : componentOf(object);
      const [c] = containersOf(pod);
      const [image] = c.image.split(':');
      expect({ owner, image }).toEqual({ owner, image: `kiln-${expected}` });
      expect(targets).toContain(expected);
    }
  });

  it('the migration Job runs once, is retried a few times and cleans up after itself', () => {
    const job = find('Job', 'kiln-migrate')!;
    expect(['Never', 'OnFailure']).toContain(job.spec.template.spec.restartPolicy);
    expect(job.spec.backoffLimit).toBeGreaterThan(0);
    expect(job.spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
    expect(containersOf(job.spec.template)[0].env.map((e: Any) => e.name)).toEqual(['DATABASE_URL']);
  });
});

// `kubectl kustomize` builds offline. Where kubectl is installed, the base
// must build to the same objects, and the example overlay must build to
// valid ones; elsewhere these checks are reported as skipped.
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
(kubectl ? describe : describe.skip)('k8s manifests: kustomize build (kubectl)', () => {
  const build = (dir: string) => {
    const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.stderr}`);
    return parseObjects(r.stdout, `kustomize(${path.relative(REPO, dir) || dir})`).map((l) => l.object);
  };

  it('k8s/base builds to the objects of its files', () => {
    expect(build(BASE).map(key).sort()).toEqual(objects.map(key).sort());
  });

  it('k8s/overlays/example builds, with its example secrets files, to valid objects', () => {
    const work = mkdtempSync(path.join(tmpdir(), 'kiln-k8s-'));
    try {
      cpSync(K8S, work, { recursive: true, filter: (src) => !src.includes(`${path.sep}test`) });
      const overlay = path.join(work, 'overlays', 'example');
      for (const f of readdirSync(overlay).filter((n) => n.endsWith('.env.example'))) cpSync(path.join(overlay, f), path.join(overlay, f.replace(/\.example$/, '')));
      const built = build(overlay);
      expect(built.map(key).sort()).toEqual(objects.map(key).sort());
      for (const version of KUBERNETES_VERSIONS) {
        const validator = kubernetesValidator(version);
        for (const o of built) expect({ o: key(o), version, errors: validator.validate(o) }).toEqual({ o: key(o), version, errors: [] });
      }
      const secret = built.find((o) => o.kind === 'Secret' && o.metadata.name === 'kiln-secrets')!;
      expect(Object.keys(secret.data ?? {}).filter((k) => !KILN_ENV_NAMES.has(k))).toEqual([]);
      const images = built.flatMap((o) => (o.spec?.template ? containersOf(o.spec.template).map((c) => c.image) : []));
      expect(images.every((i: string) => i.startsWith('registry.example.com/kiln/'))).toBe(true);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

function findKustomizations(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name === 'kustomization.yaml')
    .map((e) => path.join(e.parentPath, e.name));
}

function sleepSeconds(preStop: Any): number {
  if (!preStop) return 0;
  if (preStop.sleep) return Number(preStop.sleep.seconds);
  const cmd: string[] = preStop.exec?.command ?? [];
  return cmd[0] === 'sleep' ? Number(cmd[1]) : 0;
}

/** A Kubernetes quantity as a number (cores, or bytes). */
function quantity(q: string | number): number {
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(q));
  if (!m) throw new Error(`not a quantity: ${q}`);
  const scale: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(m[1]) * (m[2] ? scale[m[2]]! : 1);
}
