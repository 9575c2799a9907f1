import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { CHECK_PORTS } from '../../src/api/schemas.js';
import { ENV_NAMES, loadConfig } from '../../src/config/env.js';
import { providerSchema } from '../../src/provider-db/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S_DIR = `${ROOT}deploy/kubernetes/`;
/** Variables the manifests may set that the service's schema does not own: Node's own, and the shared store's (another part of the service). */
const FOREIGN_ENV = new Set(['NODE_OPTIONS', 'REDIS_URL']);

/** Each model validates its object against the Kubernetes OpenAPI schema (types, enums, required fields). */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

function readManifests(): Map<string, Manifest> {
  const byKind = new Map<string, Manifest>();
  for (const file of readdirSync(K8S_DIR).filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml')) {
    for (const document of parseAllDocuments(readFileSync(`${K8S_DIR}${file}`, 'utf8'))) {
      assert.deepEqual(document.errors, [], `${file} does not parse`);
      const manifest = document.toJS() as Manifest;
      byKind.set(manifest.kind, manifest);
    }
  }
  return byKind;
}

const manifests = readManifests();
/**
 * A manifest read through the shape a test needs. It is plain parsed YAML that the first test
 * validates against its Kubernetes schema; a shape that does not fit fails the reading test.
 */
const get = <T>(kind: string): T => {
  const manifest: unknown = manifests.get(kind);
  return manifest as T;
};

interface DeploymentShape {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: {
        securityContext: { runAsNonRoot: boolean; runAsUser: number };
        containers: IContainer[];
        volumes: { name: string; configMap?: { name: string } }[];
      };
    };
  };
}

const deployment = get<DeploymentShape>('Deployment');
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers[0] as IContainer;
const envValue = (name: string) => container.env?.find((entry) => entry.name === name)?.value;

describe('Kubernetes manifests (deploy/kubernetes/)', () => {
  it('parse, and each validates against the Kubernetes schema of its kind', () => {
    assert.deepEqual([...manifests.keys()].sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'Service']);
    for (const manifest of manifests.values()) {
      const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
      assert.ok(Model, `no schema for ${manifest.apiVersion} ${manifest.kind}`);
      new Model(manifest as never).validate();
    }
    // The validator refuses what breaks the schema (so a passing test means something).
    assert.throws(() => new Deployment({ metadata: { name: 'x' }, spec: { selector: 'all' } } as never).validate());
  });

  it('kustomization.yaml lists every manifest', () => {
    const kustomization = parse(readFileSync(`${K8S_DIR}kustomization.yaml`, 'utf8')) as { resources: string[] };
    const files = readdirSync(K8S_DIR).filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml');
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
  });

  it('Deployment: readiness /ready, liveness /health, resources, non-root, read-only root filesystem, scrape annotations', () => {
    assert.equal(container.readinessProbe?.httpGet?.path, '/ready');
    assert.equal(container.livenessProbe?.httpGet?.path, '/health');
    for (const probe of [container.readinessProbe, container.livenessProbe]) assert.equal(probe?.httpGet?.port, 'http');
    for (const kind of ['requests', 'limits'] as const) {
      assert.ok(container.resources?.[kind]?.['cpu'], `${kind}.cpu`);
      assert.ok(container.resources?.[kind]?.['memory'], `${kind}.memory`);
    }
    assert.equal(podSpec.securityContext.runAsNonRoot, true);
    assert.ok(podSpec.securityContext.runAsUser > 0);
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL']);
    const annotations = deployment.spec.template.metadata.annotations;
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(annotations['prometheus.io/path'], '/metrics');
    const http = container.ports?.find((port) => port.name === 'http');
    assert.equal(String(http?.containerPort), annotations['prometheus.io/port']);
  });

  it('Deployment: every variable is one the service reads, and the values parse', () => {
    const env = Object.fromEntries((container.env ?? []).filter((entry) => entry.value !== undefined).map((entry) => [entry.name, entry.value]));
    for (const entry of container.env ?? []) {
      assert.ok(ENV_NAMES.includes(entry.name as never) || FOREIGN_ENV.has(entry.name), `${entry.name} is not read by the service`);
    }
    const config = loadConfig(env);
    assert.equal(config.PORT, container.ports?.find((port) => port.name === 'http')?.containerPort);
    assert.equal(config.METRICS, true);
    assert.ok(config.SHED_MAX_HEAP_USED_BYTES > 0);
    // The heap threshold sits below the heap limit given to Node, which sits below the memory limit.
    const heapLimitMiB = Number(/--max-old-space-size=(\d+)/.exec(envValue('NODE_OPTIONS') ?? '')?.[1]);
    assert.ok(config.SHED_MAX_HEAP_USED_BYTES < heapLimitMiB * 1024 ** 2);
    assert.ok(heapLimitMiB < parseInt(String(container.resources?.limits?.['memory']), 10));
  });

  it('the providers ConfigMap is mounted read-only at PROVIDERS_DIR, and each of its files is a valid provider', () => {
    const configMap = get<Manifest>('ConfigMap');
    const volume = podSpec.volumes.find((entry) => entry.configMap?.name === configMap.metadata.name);
    assert.ok(volume, 'the ConfigMap is a volume of the pod');
    const mount = container.volumeMounts?.find((entry) => entry.name === volume.name);
    assert.equal(mount?.mountPath, envValue('PROVIDERS_DIR'));
    assert.equal(mount?.readOnly, true);
    const writable = container.volumeMounts?.filter((entry) => !entry.readOnly).map((entry) => entry.mountPath);
    assert.deepEqual(writable, ['/tmp']);
    for (const [file, text] of Object.entries(configMap.data ?? {})) {
      const provider = providerSchema.parse(JSON.parse(text));
      assert.equal(`${provider.id}.json`, file);
    }
  });

  it('Service, HorizontalPodAutoscaler, PodDisruptionBudget and NetworkPolicy select the Deployment\'s pods', () => {
    const labels = deployment.spec.template.metadata.labels;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([key, value]) => labels[key] === value);
    assert.ok(selects(deployment.spec.selector.matchLabels));
    const service = get<{ spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }>('Service');
    assert.ok(selects(service.spec.selector));
    assert.ok(service.spec.ports.every((port) => container.ports?.some((own) => own.name === port.targetPort)));
    const hpa = get<{ spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number } }>('HorizontalPodAutoscaler');
    assert.deepEqual(hpa.spec.scaleTargetRef.kind, 'Deployment');
    assert.equal(hpa.spec.scaleTargetRef.name, get<Manifest>('Deployment').metadata.name);
    const pdb = get<{ spec: { selector: { matchLabels: Record<string, string> }; minAvailable: number } }>('PodDisruptionBudget');
    assert.ok(selects(pdb.spec.selector.matchLabels));
    // With one pod left to disrupt, the budget can always be met during a node drain.
    assert.ok(pdb.spec.minAvailable < hpa.spec.minReplicas);
    assert.ok(selects(get<{ spec: { podSelector: { matchLabels: Record<string, string> } } }>('NetworkPolicy').spec.podSelector.matchLabels));
  });

  it('NetworkPolicy: egress only to DNS, 80/443, the mail ports the service checks, and the shared cache; private ranges excluded', () => {
    type Rule = { to?: { ipBlock?: { cidr: string; except?: string[] }; podSelector?: unknown }[]; ports?: { protocol: string; port: number }[] };
    const policy = get<{ spec: { policyTypes: string[]; egress: Rule[] } }>('NetworkPolicy').spec;
    assert.deepEqual(policy.policyTypes.sort(), ['Egress', 'Ingress']);
    const ports = policy.egress.flatMap((rule) => (rule.ports ?? []).map((port) => `${port.protocol}/${port.port}`));
    const expected = ['UDP/53', 'TCP/53', 'TCP/80', 'TCP/443', ...CHECK_PORTS.map((port) => `TCP/${port}`), 'TCP/6379'];
    assert.deepEqual([...ports].sort(), [...expected].sort());
    assert.ok(policy.egress.every((rule) => (rule.ports ?? []).length > 0), 'every egress rule names its ports');
    const web = policy.egress.find((rule) => rule.ports?.some((port) => port.port === 443));
    const v4 = web?.to?.find((peer) => peer.ipBlock?.cidr === '0.0.0.0/0')?.ipBlock?.except ?? [];
    for (const cidr of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '169.254.0.0/16']) assert.ok(v4.includes(cidr), `${cidr} not excluded`);
    const cache = policy.egress.find((rule) => rule.ports?.some((port) => port.port === 6379));
    assert.ok(cache?.to?.every((peer) => peer.podSelector !== undefined), 'the cache port is open to in-cluster pods only');
  });
});

describe('docker compose (deploy/compose.yaml)', () => {
  interface ComposeService {
    build?: { context: string; dockerfile: string };
    image: string;
    user?: string;
    read_only?: boolean;
    environment?: Record<string, string>;
    volumes?: { source: string; target: string; read_only: boolean }[];
    depends_on?: Record<string, { condition: string }>;
    healthcheck?: { test: string[] };
    ports?: string[];
    cap_drop?: string[];
  }
  const compose = parse(readFileSync(`${ROOT}deploy/compose.yaml`, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  const app = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

  it('runs the service twice and a Valkey, each with a health check', () => {
    assert.equal(app.length, 2);
    const store = compose.services['valkey'];
    assert.ok(store?.image.startsWith('valkey/valkey:'));
    for (const [name, service] of Object.entries(compose.services)) assert.ok(service.healthcheck?.test.length, `${name} has no health check`);
    for (const [name, service] of app) {
      assert.equal(service.depends_on?.['valkey']?.condition, 'service_healthy', name);
      assert.match(service.healthcheck?.test.join(' ') ?? '', /\/ready/);
    }
  });

  it('builds the repository\'s Dockerfile; non-root, read-only root filesystem, no capabilities', () => {
    for (const [name, service] of [...app, ['valkey', compose.services['valkey'] as ComposeService] as const]) {
      assert.equal(service.read_only, true, name);
      assert.match(service.user ?? '', /^[1-9]\d*:\d+$/, `${name} runs as a numeric non-root user`);
      assert.deepEqual(service.cap_drop, ['ALL']);
    }
    for (const [, service] of app) {
      const dockerfile = readFileSync(resolve(ROOT, 'deploy', service.build?.context ?? '', service.build?.dockerfile ?? ''), 'utf8');
      const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((match) => match[1]);
      assert.equal(users.at(-1), service.user, 'the image and compose agree on the user');
    }
  });

  it('sets REDIS_URL to the Valkey service, mounts the providers directory read-only at PROVIDERS_DIR, and parses', () => {
    const ports = new Set<string>();
    for (const [name, service] of app) {
      const env = service.environment ?? {};
      assert.equal(new URL(env['REDIS_URL'] ?? '').hostname, 'valkey', name);
      const providers = service.volumes?.find((volume) => volume.target === env['PROVIDERS_DIR']);
      assert.equal(providers?.read_only, true);
      for (const variable of Object.keys(env)) assert.ok(ENV_NAMES.includes(variable as never) || FOREIGN_ENV.has(variable), `${variable} is not read by the service`);
      assert.equal(loadConfig(env).PORT, 8080);
      for (const port of service.ports ?? []) {
        assert.match(port, /^127\.0\.0\.1:\d+:8080$/, 'published on loopback only');
        ports.add(port.split(':')[1] as string);
      }
    }
    assert.equal(ports.size, 2, 'each instance on its own host port');
  });
});
