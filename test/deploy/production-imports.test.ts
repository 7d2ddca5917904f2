import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import ts from 'typescript';
import { REPO_ROOT } from './deploy-files';

/**
 * The production image leaves the local stand-ins (src/sandbox) out, so the production code must
 * never load them when it starts: no static import chain from the CLI entry point may reach
 * src/sandbox. `rotator demo` reaches them only through a dynamic import (src/cli/stand-ins.ts).
 */

const ENTRY = path.join(REPO_ROOT, 'src/cli/main.ts');
const SANDBOX = path.join(REPO_ROOT, 'src/sandbox') + path.sep;

function resolveLocal(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null; // a package from node_modules
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  if (base.endsWith('.json') && existsSync(base)) return null;
  throw new Error(`${path.relative(REPO_ROOT, from)}: cannot resolve ${specifier}`);
}

/** Modules `file` loads when it is loaded: value imports and re-exports, not types, not import(). */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause?.isTypeOnly === true ||
        (clause !== undefined && clause.name === undefined && clause.namedBindings !== undefined &&
          ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 &&
          clause.namedBindings.elements.every((element) => element.isTypeOnly));
      if (!typeOnly) specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) specifiers.push(expression.text);
    } else if (
      ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require' &&
      node.arguments[0] && ts.isStringLiteral(node.arguments[0])
    ) {
      specifiers.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

/** Every local module reachable from `entry`, each with the chain that first reached it. */
function importGraph(entry: string): Map<string, string[]> {
  const chains = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const specifier of staticImports(file)) {
      const target = resolveLocal(file, specifier);
      if (target === null || chains.has(target)) continue;
      chains.set(target, [...chains.get(file)!, target]);
      queue.push(target);
    }
  }
  return chains;
}

const relative = (file: string) => path.relative(REPO_ROOT, file);

describe('the production import graph', () => {
  const graph = importGraph(ENTRY);

  it('reaches the service, the job processors and the demo command from src/cli/main.ts', () => {
    const files = [...graph.keys()].map(relative);
    expect(files).toEqual(expect.arrayContaining(['src/app/service.ts', 'jobs/rotate-mailbox-key.ts', 'src/cli/commands/demo.ts', 'src/cli/stand-ins.ts']));
  });

  it('never loads src/sandbox when the CLI starts', () => {
    const intoSandbox = [...graph.entries()].filter(([file]) => file.startsWith(SANDBOX)).map(([, chain]) => chain.map(relative).join(' → '));
    expect(intoSandbox).toEqual([]);
  });
});

describe('rotator demo without the stand-ins (as in the production image)', () => {
  let dir: string;

  beforeAll(() => {
    // The built CLI with dist/src/sandbox removed, as the Dockerfile's production-dist stage does.
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-dist-'));
    cpSync(path.join(REPO_ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    rmSync(path.join(dir, 'dist/src/sandbox'), { recursive: true, force: true });
    cpSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
    cpSync(path.join(REPO_ROOT, 'config'), path.join(dir, 'config'), { recursive: true });
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) =>
    spawnSync(process.execPath, ['dist/src/cli/main.js', ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '' } });

  it('still runs the production commands', () => {
    const result = run(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('start');
  });

  it('says the stand-ins are not part of the production image and exits 1', () => {
    const result = run(['demo']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('not part of the production image');
    expect(result.stderr).toContain('--target standins');
  });
});
