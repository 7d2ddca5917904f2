import { readFileSync } from 'node:fs';
import { COMPOSE_PATH, DOCKERFILE_PATH, parseCompose, parseDockerfile } from './deploy-files';

/**
 * Base images pinned by digest (`name:tag@sha256:<64 hex>`), so a rebuild uses the bytes that were
 * reviewed, not whatever the tag points at that day. The tag stays for the reader; Docker uses
 * the digest. How to get and update the digests: docs/security.md, "Least privilege (IAM) and images".
 *
 * UNPINNED is the backlog of references still waiting for their digest; it is empty. The test
 * fails for any new image reference that is not pinned.
 */
const UNPINNED: readonly string[] = [];

const DIGEST_PIN = /^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$/;

/** Every image the repository pulls: FROM lines that name no earlier stage, and Compose services that build nothing. */
function pulledImages(): string[] {
  const stages = parseDockerfile(readFileSync(DOCKERFILE_PATH, 'utf8'));
  const names = new Set(stages.map((stage) => stage.name).filter((name): name is string => name !== null));
  const fromDockerfile = stages.filter((stage) => !names.has(stage.image)).map((stage) => `Dockerfile: ${stage.image}`);
  const services = Object.values(parseCompose(readFileSync(COMPOSE_PATH, 'utf8')).services);
  const fromCompose = services.filter((svc) => svc.build === undefined && svc.image !== undefined).map((svc) => `docker-compose.yml: ${svc.image}`);
  return [...new Set([...fromDockerfile, ...fromCompose])];
}

const withoutDigest = (reference: string) => reference.replace(/@sha256:.*$/, '');

describe('base images', () => {
  const images = pulledImages();

  it('finds the images the Dockerfile and docker-compose.yml pull', () => {
    expect(images.map((image) => withoutDigest(image)).sort()).toEqual(
      ['Dockerfile: node:24-bookworm-slim', 'docker-compose.yml: localstack/localstack:4.14.0', 'docker-compose.yml: redis:7.4.2'].sort(),
    );
  });

  it('pins every image by tag and digest, except those still in the documented backlog', () => {
    const unpinned = images.filter((image) => !DIGEST_PIN.test(image.replace(/^[^:]+: /, '')));
    expect(unpinned.sort()).toEqual([...UNPINNED].sort());
  });

  it('writes every digest that is there as tag@sha256:<64 lower-case hex>', () => {
    for (const image of images.filter((reference) => reference.includes('@'))) expect(image.replace(/^[^:]+: /, '')).toMatch(DIGEST_PIN);
  });
});
