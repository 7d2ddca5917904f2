/**
 * The oldest Node.js major the rotator runs on. package.json's `engines.node` says the same
 * (`>=24`, pinned together by test/ci/node-runtime.test.ts); CI and the image run Node 24.
 */
export const MIN_NODE_MAJOR = 24;

/** How a person gets a supported Node from a clone (the README's command; CI does the same). */
export const GET_NODE_COMMAND = 'source scripts/use-node24.sh (in the repository), or install it from https://nodejs.org/';

/**
 * The one-line refusal for an unsupported Node, or undefined when `version` (as in
 * `process.versions.node`, e.g. "20.20.2") is MIN_NODE_MAJOR or newer. A version that cannot be
 * read is refused too: the rotator cannot vouch for it.
 */
export function nodeVersionRefusal(version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined;
  return `rotator needs Node.js ${MIN_NODE_MAJOR} or newer (this is v${version.replace(/^v/, '')}); get it with: ${GET_NODE_COMMAND}`;
}
