// The shape of the progress-bridge-client package (web/package.json): what `npm pack` ships,
// that its three entry points resolve through `exports` and nothing else does, that the core
// imports no framework and its modules import only shipped modules, that a copy installed from
// the packed tarball works, and that its type declarations compile as applications use them.
//   node --preserve-symlinks --test tests/web/package-shape.test.mjs   (needs npm ci --prefix tests/web)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..', '..', 'web');
const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));

const SHIPPED = [
  'README.md',
  'bridge-api.js',
  'client-view.js',
  'job-rules.js',
  'package.json',
  'polling-transport.js',
  'progress-client.d.ts',
  'progress-client.js',
  'react.d.ts',
  'react.js',
  'sse-transport.js',
  'view-types.d.ts',
  'vue.d.ts',
  'vue.js',
  'websocket-transport.js',
];
// The client's modules and the view code the bindings share: every shipped module but the
// bindings. None imports a framework, and none is reachable by its file name, only through
// `exports` (progress-client.js as the package itself).
const CORE = ['bridge-api.js', 'client-view.js', 'job-rules.js', 'polling-transport.js', 'progress-client.js', 'sse-transport.js', 'websocket-transport.js'];

// The specifiers a module imports or re-exports from.
function importsOf(source) {
  return [...source.matchAll(/^\s*(?:import|export)\b[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
}

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
  for (const file of ['dashboard.js', ...CORE]) {
    const hidden = `progress-bridge-client/${file}`;
    await assert.rejects(import(hidden), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' }, hidden);
  }
});

test('the core and the shared view code import no framework', async () => {
  assert.deepEqual(CORE, SHIPPED.filter((file) => file.endsWith('.js') && file !== 'react.js' && file !== 'vue.js'));
  for (const file of CORE) {
    const imports = importsOf(await readFile(join(packageDir, file), 'utf8'));
    assert.ok(imports.every((spec) => spec.startsWith('./')), `${file} imports ${imports.join(', ')}`);
  }
});

test('every module imports only shipped modules, by relative paths a browser can load', async () => {
  for (const file of SHIPPED.filter((f) => f.endsWith('.js'))) {
    for (const spec of importsOf(await readFile(join(packageDir, file), 'utf8'))) {
      if (!spec.startsWith('.')) continue; // react, vue: the application's own copy
      assert.match(spec, /^\.\/[a-z-]+\.js$/, `${file} imports ${spec}`);
      assert.ok(SHIPPED.includes(spec.slice(2)), `${file} imports ${spec}, which npm pack leaves out`);
    }
  }
});

// An application's view of the package: ESM imports by package name from its own directory,
// without --preserve-symlinks, then one poll through the client with a stand-in fetch.
const PROBE = `
import * as core from 'progress-bridge-client';
const hidden = {};
for (const file of ${JSON.stringify(CORE)}) {
  hidden[file] = await import('progress-bridge-client/' + file).then(() => 'imported', (e) => e.code);
}
const token = ['e30', Buffer.from(JSON.stringify({ sub: 'alice' })).toString('base64url'), 'c2ln'].join('.');
const fetch = async (url) => ({
  ok: true,
  status: 200,
  json: async () => ({ jobs: [{ userId: 'alice', jobId: 'j1', status: 'in_progress', url }], nextCursor: null }),
});
const client = new core.ProgressClient({ baseUrl: 'http://127.0.0.1:9', token, transports: ['poll'], fetch });
const snapshot = await new Promise((resolve) => client.on('snapshot', ({ jobs }) => resolve([...jobs.values()])));
client.close();
console.log(JSON.stringify({ exports: Object.keys(core).sort(), hidden, snapshot }));
`;

test('installed from the npm pack tarball, the core loads its modules and polls', async () => {
  const app = await mkdtemp(join(tmpdir(), 'progress-client-pack-'));
  try {
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', app], { cwd: packageDir, timeout: 60000 });
    const [packed] = JSON.parse(stdout);
    const installed = join(app, 'node_modules', 'progress-bridge-client');
    await mkdir(installed, { recursive: true });
    await run('tar', ['-xzf', join(app, packed.filename), '-C', installed, '--strip-components=1'], { timeout: 60000 });
    await writeFile(join(app, 'probe.mjs'), PROBE);
    const probe = await run(process.execPath, [join(app, 'probe.mjs')], { cwd: app, timeout: 30000 }).catch((e) => e);
    assert.equal(probe.code ?? 0, 0, `probe failed:\n${probe.stdout}${probe.stderr}`);
    const { exports, hidden, snapshot } = JSON.parse(probe.stdout);
    assert.deepEqual(exports, ['ProgressClient', 'backoffDelay', 'decodeToken', 'isTerminal', 'isValidJob', 'jobKey']);
    assert.deepEqual(hidden, Object.fromEntries(CORE.map((file) => [file, 'ERR_PACKAGE_PATH_NOT_EXPORTED'])));
    assert.deepEqual(snapshot, [{ userId: 'alice', jobId: 'j1', status: 'in_progress', url: 'http://127.0.0.1:9/api/v1/users/alice/jobs?limit=200' }]);
  } finally {
    await rm(app, { recursive: true, force: true });
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
