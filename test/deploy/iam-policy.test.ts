import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as secretsManagerSdk from '@aws-sdk/client-secrets-manager';
import { renderSecretName } from '../../src/config';
import { FILE_DEFAULTS } from '../../src/config/file-schema';
import { MANAGED_BY_TAG } from '../../src/aws/secret-store';
import { REPO_ROOT, readRepoFile } from './deploy-files';

/**
 * config/iam-policy.json is the least privilege the rotator needs: exactly the Secrets Manager
 * actions its code sends, on the secret name prefix only; KMS only through Secrets Manager; the
 * management-key secret read-only.
 */

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const policy = JSON.parse(readRepoFile('config/iam-policy.json')) as { Version: string; Statement: Statement[] };
const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
const actionsOf = (statement: Statement) => list(statement.Action);

/** IAM wildcard matching: `*` any run of characters (including `/`), `?` exactly one. */
function iamMatches(pattern: string, value: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}

/** Secret ARNs end in "-" and six random characters that AWS appends to the name. */
const secretArn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbC123`;
const MANAGEMENT_KEY_SECRET = 'sendmux/management-key';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/**
 * Every Secrets Manager command the production code (src/, jobs/) constructs. The stand-ins live in
 * standins/, outside it: they never run against AWS.
 */
function secretsManagerCommandsInCode(): Set<string> {
  const files = [...sourceFiles(path.join(REPO_ROOT, 'src')), ...sourceFiles(path.join(REPO_ROOT, 'jobs'))];
  const commands = new Set<string>();
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(/new\s+(\w+)Command\s*\(/g)) {
      const operation = match[1]!;
      if (typeof (secretsManagerSdk as Record<string, unknown>)[`${operation}Command`] === 'function') commands.add(operation);
    }
  }
  return commands;
}

/**
 * Permissions an operation needs besides its own action, per the Secrets Manager API reference:
 * CreateSecret with Tags also needs secretsmanager:TagResource.
 */
function impliedActions(): Set<string> {
  const store = readRepoFile('src/aws/secret-store.ts');
  const createSecret = /new CreateSecretCommand\(\{([\s\S]*?)\}\);/.exec(store)?.[1] ?? '';
  return new Set(/\bTags\b/.test(createSecret) ? ['TagResource'] : []);
}

const MAILBOX_RESOURCE = 'arn:aws:secretsmanager:*:*:secret:sendmux/mailboxes/*';
const createStatement = policy.Statement.find((statement) => actionsOf(statement).includes('secretsmanager:CreateSecret'))!;
const rotateStatement = policy.Statement.find((statement) => actionsOf(statement).includes('secretsmanager:PutSecretValue'))!;
const mailboxStatements = [rotateStatement, createStatement];
/** The mailbox-secret statements seen as one: every action they grant, on their (shared) resource. */
const mailboxStatement: Statement = { Effect: 'Allow', Action: mailboxStatements.flatMap(actionsOf), Resource: rotateStatement.Resource };
const managementKeyStatement = policy.Statement.find(
  (statement) => !mailboxStatements.includes(statement) && actionsOf(statement).some((action) => action.startsWith('secretsmanager:')),
)!;
const kmsStatement = policy.Statement.find((statement) => actionsOf(statement).some((action) => action.startsWith('kms:')))!;

describe('config/iam-policy.json', () => {
  it('is an IAM policy of four Allow statements: rotating and creating mailbox secrets, the management-key secret, KMS', () => {
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement).toHaveLength(4);
    expect(new Set([rotateStatement, createStatement, managementKeyStatement, kmsStatement]).size).toBe(4);
    for (const statement of policy.Statement) expect(statement.Effect).toBe('Allow');
  });

  it('grants exactly the Secrets Manager actions the code sends, plus TagResource that CreateSecret with tags needs', () => {
    const used = secretsManagerCommandsInCode();
    expect(used.size).toBeGreaterThan(0);
    const expected = [...new Set([...used, ...impliedActions()])].map((operation) => `secretsmanager:${operation}`).sort();
    expect([...actionsOf(mailboxStatement)].sort()).toEqual(expected);
  });

  it('grants no Secrets Manager action anywhere that the code does not need', () => {
    const allowed = new Set([...secretsManagerCommandsInCode(), ...impliedActions()].map((operation) => `secretsmanager:${operation}`));
    const granted = policy.Statement.flatMap(actionsOf).filter((action) => action.startsWith('secretsmanager:'));
    expect(granted.filter((action) => !allowed.has(action))).toEqual([]);
  });

  it('uses no wildcard action and no "*" resource', () => {
    for (const statement of policy.Statement) {
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/\*/);
      for (const resource of list(statement.Resource)) expect(resource).not.toBe('*');
    }
  });

  it('scopes the rotation actions to the default secret name prefix', () => {
    for (const statement of mailboxStatements) expect(list(statement.Resource)).toEqual([MAILBOX_RESOURCE]);
    const [resource] = list(mailboxStatement.Resource);
    expect(iamMatches(resource!, secretArn(renderSecretName(FILE_DEFAULTS.secretName, 'mbx_demo_0001')))).toBe(true);
    expect(iamMatches(resource!, secretArn('sendmux/other/mbx_demo_0001'))).toBe(false);
    expect(iamMatches(resource!, secretArn(MANAGEMENT_KEY_SECRET))).toBe(false);
  });

  it('lets the rotator only read the management-key secret, and no other secret with that prefix', () => {
    expect(actionsOf(managementKeyStatement)).toEqual(['secretsmanager:GetSecretValue']);
    const [resource] = list(managementKeyStatement.Resource);
    expect(iamMatches(resource!, secretArn(MANAGEMENT_KEY_SECRET))).toBe(true);
    expect(iamMatches(resource!, secretArn(`${MANAGEMENT_KEY_SECRET}-old`))).toBe(false);
    expect(iamMatches(resource!, secretArn(renderSecretName(FILE_DEFAULTS.secretName, 'mbx_demo_0001')))).toBe(false);
  });

  it('allows KMS GenerateDataKey and Decrypt on one key, only when Secrets Manager makes the call', () => {
    expect([...actionsOf(kmsStatement)].sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    const resources = list(kmsStatement.Resource);
    expect(resources).toHaveLength(1);
    expect(resources[0]).toMatch(/^arn:aws:kms:[^:]*:[^:]*:key\/[^*?]+$/);
    const viaService = kmsStatement.Condition?.StringLike?.['kms:ViaService'];
    expect(typeof viaService).toBe('string');
    expect(iamMatches(viaService as string, 'secretsmanager.eu-west-1.amazonaws.com')).toBe(true);
    expect(iamMatches(viaService as string, 's3.eu-west-1.amazonaws.com')).toBe(false);
  });

  it('lets CreateSecret and TagResource through only with the managed-by tag the store writes', () => {
    expect([...actionsOf(createStatement)].sort()).toEqual(['secretsmanager:CreateSecret', 'secretsmanager:TagResource']);
    expect(createStatement.Condition?.StringEquals).toEqual({ [`aws:RequestTag/${MANAGED_BY_TAG.key}`]: MANAGED_BY_TAG.value });
    expect(createStatement.Condition?.['ForAnyValue:StringEquals']).toEqual({ 'aws:TagKeys': [MANAGED_BY_TAG.key] });
    // Every CreateSecret and TagResource the code sends carries that tag (withManagedBy).
    const store = readRepoFile('src/aws/secret-store.ts');
    const tagged = [...store.matchAll(/new (CreateSecret|TagResource)Command\(\{([\s\S]*?)\}\);/g)];
    expect(tagged.map((match) => match[1]).sort()).toEqual(['CreateSecret', 'TagResource']);
    for (const [, operation, body] of tagged) expect([operation, /Tags: Object\.entries\(withManagedBy\(/.test(body!)]).toEqual([operation, true]);
  });

  it('puts no condition on the other mailbox actions, so secrets created before the tag (or adopted) still rotate', () => {
    expect(rotateStatement.Condition).toBeUndefined();
  });
});
