/**
 * Builds deploy/Dockerfile and runs deploy/container-smoke-test.sh on the image: read-only root
 * file system, data volume, HEALTHCHECK, a token, SIGTERM, a bad setting. Building takes
 * minutes and needs a container engine and base images, so it runs only when asked:
 *
 *   TESSERA_TEST_CONTAINER=1 TESSERA_TEST_BASE_IMAGE=localhost/debian-node:trixie \
 *   TESSERA_TEST_BUILD_IMAGE=localhost/debian-node-build:trixie npm test
 *
 * CONTAINER_ENGINE, CONTAINER_BUILD_ARGS and CONTAINER_RUN_ARGS adapt it to the machine (see
 * "Deploying" in the README for what this sandbox needed).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const wanted = process.env.TESSERA_TEST_CONTAINER === '1';
const engine = process.env.CONTAINER_ENGINE ?? 'podman';
const words = (value: string | undefined) => (value ?? '').split(' ').filter(Boolean);

describe('the container image', { skip: wanted ? false : 'set TESSERA_TEST_CONTAINER=1' }, () => {
  it('builds from deploy/Dockerfile and passes the smoke test', { timeout: 900_000 }, () => {
    const image = 'localhost/tessera:test';
    const build = spawnSync(
      engine,
      [
        'build',
        '--format',
        'docker',
        ...words(process.env.CONTAINER_BUILD_ARGS),
        ...(process.env.TESSERA_TEST_BASE_IMAGE
          ? ['--build-arg', `BASE_IMAGE=${process.env.TESSERA_TEST_BASE_IMAGE}`]
          : []),
        ...(process.env.TESSERA_TEST_BUILD_IMAGE
          ? ['--build-arg', `BUILD_IMAGE=${process.env.TESSERA_TEST_BUILD_IMAGE}`]
          : []),
        '-f',
        'deploy/Dockerfile',
        '-t',
        image,
        '.',
      ],
      { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    assert.equal(build.status, 0, `${build.stdout.slice(-4000)}\n${build.stderr.slice(-4000)}`);
    const smoke = spawnSync('deploy/container-smoke-test.sh', [image], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    assert.equal(smoke.status, 0, `${smoke.stdout}\n${smoke.stderr}`);
    assert.match(smoke.stdout, /container smoke test passed/);
  });
});
