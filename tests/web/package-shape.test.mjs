// The shape of the progress-bridge-client package (web/package.json): what `npm pack` ships,
// that its three entry points resolve through `exports` and nothing else does, that the core
// imports no framework, and that its type declarations compile as applications use them.
//   node --preserve-symlinks --test tests/web/package-shape.test.mjs   (needs npm ci --prefix tests/web)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..', '..', 'web');
const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));

const SHIPPED = [
  'README.md',
  'client-view.js',
  'package.json',
  'progress-client.d.ts',
  'progress-client.js',
  'react.d.ts',
  'react.js',
  'view-types.d.ts',
  'vue.d.ts',
  'vue.js',
];

test('npm pack ships the client, the bindings and their types, not the dashboard', async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: packageDir, timeout: 60000 });
  const [packed] = JSON.parse(stdout);
  assert.equal(packed.name, 'progress-bridge-client');
  assert.deepEqual(packed.files.map((f) => f.path).sort(), SHIPPED);
});

test('the manifest: ESM, no runtime dependencies, react and vue as optional peers only', () => {
  assert.equal(manifest.type, 'module');
  assert.equal(manifest.dependencies, undefined);
  assert.deepEqual(Object.keys(manifest.peerDependencies).sort(), ['react', 'vue']);
  assert.deepEqual(manifest.peerDependenciesMeta, { react: { optional: true }, vue: { optional: true } });
  assert.deepEqual(Object.keys(manifest.exports), ['.', './react', './vue', './package.json']);
  for (const [entry, target] of Object.entries(manifest.exports)) {
    if (typeof target === 'string') continue;
    assert.deepEqual(Object.keys(target), ['types', 'default'], `${entry}: types first`);
    for (const file of Object.values(target)) assert.ok(SHIPPED.includes(file.replace('./', '')), `${entry}: ${file} is shipped`);
  }
});

test('the entry points resolve through exports and export what the types declare', async () => {
  const core = await import('progress-bridge-client');
  assert.deepEqual(Object.keys(core).sort(), ['ProgressClient', 'backoffDelay', 'decodeToken', 'isTerminal', 'isValidJob', 'jobKey']);
  const react = await import('progress-bridge-client/react');
  assert.deepEqual(Object.keys(react).sort(), ['ProgressProvider', 'useJob', 'useJobs', 'useProgressClient']);
  const vue = await import('progress-bridge-client/vue');
  assert.deepEqual(Object.keys(vue).sort(), ['provideProgressClient', 'useJob', 'useJobs', 'useProgressClient']);
  assert.equal(createRequire(import.meta.url)('progress-bridge-client/package.json').name, 'progress-bridge-client');
  for (const hidden of ['progress-bridge-client/dashboard.js', 'progress-bridge-client/client-view.js', 'progress-bridge-client/progress-client.js']) {
    await assert.rejects(import(hidden), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' }, hidden);
  }
});

test('the core and the shared view code import no framework', async () => {
  for (const file of ['progress-client.js', 'client-view.js']) {
    const source = await readFile(join(packageDir, file), 'utf8');
    const imports = [...source.matchAll(/^\s*(?:import|export)\b[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
    assert.ok(imports.every((spec) => spec.startsWith('./')), `${file} imports ${imports.join(', ')}`);
  }
});

test('the type declarations compile as a Next.js and a Vue application use them', async () => {
  const tsc = join(here, 'node_modules', 'typescript', 'bin', 'tsc');
  const project = join(here, 'types');
  for (const resolution of [[], ['--module', 'node16', '--moduleResolution', 'node16']]) {
    const result = await run(process.execPath, [tsc, '-p', project, ...resolution], { timeout: 120000 }).catch((e) => e);
    assert.equal(result.code ?? 0, 0, `tsc ${resolution.join(' ')}:\n${result.stdout}${result.stderr}`);
  }
});
