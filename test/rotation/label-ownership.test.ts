import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * docs/design.md, "One place owns a mailbox's secret": reading the staging labels, moving them and
 * the revocation proofs live in src/rotation/mailbox-secret.ts; every key revocation goes through
 * src/rotation/revocation.ts. Beside them only the Secrets Manager adapter (src/aws/) speaks of
 * labels. The stand-ins (standins/) emulate the services and are not the service.
 */
const ROOT = path.resolve(__dirname, '../..');
const OWNER = 'src/rotation/mailbox-secret.ts';
const CHOKE_POINT = 'src/rotation/revocation.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const relative = path.join(dir, name);
    if (statSync(path.join(ROOT, relative)).isDirectory()) return sourceFiles(relative);
    return relative.endsWith('.ts') ? [relative] : [];
  });
}

/** The code of a file without its comments (a comment may name a label). */
function code(file: string): string {
  return readFileSync(path.join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

const files = [...sourceFiles('src'), ...sourceFiles('jobs')].filter((file) => !file.startsWith('src/aws/'));

describe('one owner of a mailbox secret’s labels', () => {
  it('reads labels only in the owner: no other module touches the label fields of the store or the SDK', () => {
    const labelFields = /\b(versionIdsToStages|versionStages|VersionIdsToStages|VersionStages|versionStage\s*:|VersionStage\s*:)/;
    expect(files.filter((file) => file !== OWNER && labelFields.test(code(file)))).toEqual([]);
  });

  it('moves labels only in the owner: no other module calls UpdateSecretVersionStage or the store’s moveStage', () => {
    const moves = /\b(moveStage|UpdateSecretVersionStageCommand|MoveToVersionId|RemoveFromVersionId)\b/;
    expect(files.filter((file) => file !== OWNER && moves.test(code(file)))).toEqual([]);
  });

  it('names the staging labels only in the owner (the constants come from src/aws/staging-labels.ts)', () => {
    const labels = /staging-labels|['"`]AWS(CURRENT|PENDING|PREVIOUS)['"`]/;
    expect(files.filter((file) => file !== OWNER && labels.test(code(file)))).toEqual([]);
  });

  it('revokes keys only through the choke point: no other module calls the Sendmux DELETE', () => {
    expect(files.filter((file) => file !== CHOKE_POINT && /\.revokeMailboxKey\(/.test(code(file)) && !file.startsWith('src/sendmux/'))).toEqual([]);
  });
});
