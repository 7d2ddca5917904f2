import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import ts from 'typescript';
import { REPO_ROOT } from './deploy-files';

/**
 * The local stand-ins (standins/) are a product of this repository for the demo and the tests, not
 * part of the service: the production build compiles none of them and the production image
 * carries none. No import chain from the CLI entry point may reach standins/, and the production
 * build's program must not contain a file of it. `rotator demo` loads them by path at run time
 * (src/cli/stand-ins.ts).
 */

const ENTRY = path.join(REPO_ROOT, 'src/cli/main.ts');
const STANDINS = path.join(REPO_ROOT, 'standins') + path.sep;

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

  it('never loads standins/ when the CLI starts', () => {
    const intoStandIns = [...graph.entries()].filter(([file]) => file.startsWith(STANDINS)).map(([, chain]) => chain.map(relative).join(' → '));
    expect(intoStandIns).toEqual([]);
  });
});

describe('the production build (tsconfig.build.json)', () => {
  it('compiles no file of standins/, not even one pulled in by a type import', () => {
    const config = ts.getParsedCommandLineOfConfigFile(path.join(REPO_ROOT, 'tsconfig.build.json'), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    })!;
    const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
    const intoStandIns = program.getSourceFiles().map((file) => path.resolve(file.fileName)).filter((file) => file.startsWith(STANDINS));
    expect(intoStandIns.map(relative)).toEqual([]);
    expect(config.fileNames.some((file) => file.includes('/src/cli/main.ts'))).toBe(true);
  });
});

describe('rotator demo without the stand-ins (as in the production image)', () => {
  let dir: string;

  beforeAll(() => {
    // The built CLI without dist/standins, as the production image holds it.
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-dist-'));
    cpSync(path.join(REPO_ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    rmSync(path.join(dir, 'dist/standins'), { recursive: true, force: true });
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
    expect(result.stderr).toContain('not part of the production build or image');
    expect(result.stderr).toContain('--target standins');
  });
});
