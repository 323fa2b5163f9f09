/**
 * The deployment artefacts in deploy/ are checked without a cluster: every Kubernetes manifest
 * against the Kubernetes API's schemas (kubernetes-models' validators, generated from the
 * Kubernetes OpenAPI document) and, for unknown or misspelt fields, which those schemas let
 * through, against the same project's TypeScript types with excess-property checks; the
 * manifests' wiring against the image and the server (ports, probe paths, the Secret); and the
 * systemd unit with `systemd-analyze verify` where systemd's tools are installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Secret, Service } from 'kubernetes-models/v1';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const kubernetesDir = join(repoRoot, 'deploy', 'kubernetes');

/** apiVersion/kind → the model that validates it and the TypeScript type that names its fields. */
const models: Record<string, { validate: (doc: object) => void; type: [string, string] }> = {
  'apps/v1/Deployment': {
    validate: (doc) => new Deployment(doc as never).validate(),
    type: ['kubernetes-models/apps/v1', 'IDeployment'],
  },
  'policy/v1/PodDisruptionBudget': {
    validate: (doc) => new PodDisruptionBudget(doc as never).validate(),
    type: ['kubernetes-models/policy/v1', 'IPodDisruptionBudget'],
  },
  'v1/Secret': {
    validate: (doc) => new Secret(doc as never).validate(),
    type: ['kubernetes-models/v1', 'ISecret'],
  },
  'v1/Service': {
    validate: (doc) => new Service(doc as never).validate(),
    type: ['kubernetes-models/v1', 'IService'],
  },
};

/** Parsed YAML, read field by field below: its shape is what the validators check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Yaml = any;

interface Manifest {
  file: string;
  doc: { apiVersion: string; kind: string } & Yaml;
}

function manifests(): Manifest[] {
  return readdirSync(kubernetesDir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(kubernetesDir, file), 'utf8')).map((document) => {
        assert.deepEqual(document.errors, [], `${file}: YAML errors`);
        return { file, doc: document.toJS() as Manifest['doc'] };
      }),
    );
}

/** Type-checks each manifest as an object literal of its API type; returns the diagnostics. */
function unknownFieldErrors(all: Manifest[]): string[] {
  const virtual = join(kubernetesDir, '__manifests__.ts');
  const source = all
    .map(({ doc }, i) => {
      const [module, type] = models[`${doc.apiVersion}/${doc.kind}`]!.type;
      return `import type { ${type} as T${i} } from '${module}';\nexport const m${i}: T${i} = ${JSON.stringify(doc)};\n`;
    })
    .join('');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) =>
    name === virtual
      ? ts.createSourceFile(name, source, version)
      : getSourceFile(name, version, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === virtual || fileExists(name);
  const program = ts.createProgram([virtual], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const at = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const index = at ? Math.floor(at.line / 2) : -1;
    return `${all[index]?.file ?? '?'}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}

describe('deployment artefacts', () => {
  const all = manifests();
  const byKind = (kind: string) => all.find(({ doc }) => doc.kind === kind)!.doc;

  it('has a Deployment, a Service, a PodDisruptionBudget and a Secret, all known kinds', () => {
    assert.deepEqual(all.map(({ doc }) => doc.kind).sort(), [
      'Deployment',
      'PodDisruptionBudget',
      'Secret',
      'Service',
    ]);
    for (const { file, doc } of all)
      assert.ok(models[`${doc.apiVersion}/${doc.kind}`], `${file}: no model for ${doc.kind}`);
  });

  it('every manifest is valid against the Kubernetes schemas', () => {
    for (const { file, doc } of all) {
      assert.doesNotThrow(() => models[`${doc.apiVersion}/${doc.kind}`]!.validate(doc), file);
    }
  });

  it('the schema check catches a wrong type, and the field check an unknown field', () => {
    const deployment = structuredClone(byKind('Deployment'));
    deployment.spec.replicas = 'two';
    assert.throws(() => new Deployment(deployment as never).validate());
    const typo = structuredClone(byKind('Deployment'));
    typo.spec.template.spec.containers[0].readinesProbe = { httpGet: { path: '/readyz' } };
    const errors = unknownFieldErrors([{ file: 'typo.yaml', doc: typo as Manifest['doc'] }]);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /readinesProbe/);
  });

  it('no manifest has a field the Kubernetes API does not know', () => {
    assert.deepEqual(unknownFieldErrors(all), []);
  });

  it('the Deployment runs the image as it is built: port, probes, non-root, read-only, Secret', () => {
    const pod = byKind('Deployment').spec.template.spec;
    const [container] = pod.containers;
    const dockerfile = readFileSync(join(repoRoot, 'deploy', 'Dockerfile'), 'utf8');
    const port = /^\s+PORT=(\d+)/m.exec(dockerfile)![1];
    assert.equal(String(container.ports[0].containerPort), port);
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile)!;
    assert.equal(String(pod.securityContext.runAsUser), user[1]);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    const dataDir = /TESSERA_DATA_DIR=(\S+)/.exec(dockerfile)![1];
    assert.ok(container.volumeMounts.some((mount: Yaml) => mount.mountPath === dataDir));
    const secret = byKind('Secret');
    assert.ok('TESSERA_KEK' in secret.stringData);
    assert.ok(container.envFrom.some((from: Yaml) => from.secretRef?.name === secret.metadata.name));
    const service = byKind('Service');
    assert.deepEqual(service.spec.selector, byKind('Deployment').spec.selector.matchLabels);
    assert.deepEqual(
      byKind('PodDisruptionBudget').spec.selector.matchLabels,
      byKind('Deployment').spec.selector.matchLabels,
    );
    assert.match(dockerfile, /^HEALTHCHECK .*\n.*\/readyz/m);
  });

  it('the systemd unit passes systemd-analyze verify', (t) => {
    if (!existsSync('/usr/bin/systemd-analyze')) {
      t.skip('systemd-analyze is not installed');
      return;
    }
    const unit = join(repoRoot, 'deploy', 'systemd', 'tessera.service');
    // verify warns on stderr and still exits 0 for most problems: silence is the pass.
    const result = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr + result.stdout, '');
  });
});
