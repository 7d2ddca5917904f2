import { mkdirSync } from 'node:fs';
import path from 'node:path';

/** Compiled to dist/bench/lib/, so the repository root is three levels up. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI_ENTRY = path.join(REPO_ROOT, 'dist/src/cli/main.js');
export const SANDBOX_ENTRY = path.join(REPO_ROOT, 'dist/standins/sendmux/main.js');
export const STAND_IN_ENTRY = path.join(REPO_ROOT, 'dist/standins/secrets-manager/main.js');
export const BARE_LOOP_ENTRY = path.join(REPO_ROOT, 'dist/bench/bare-loop-main.js');
export const RESULTS_DIR = path.join(REPO_ROOT, 'bench/results');

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
