// End to end: a real Mosquitto with the project's broker-config, the real progress-bridge
// serving the dashboard, the demo worker publishing jobs for alice, bob and carol, and the
// dashboard in headless Chromium, once logged in as alice and once as bob. Everything on 127.0.0.1; every wait is
// bounded; every child process is killed at the end.
//
//   node dashboard.e2e.mjs --bridge PATH --demo-worker PATH --broker-config DIR --web-root DIR
//                          --screenshot FILE [--mosquitto PATH]
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);

const { values: opt } = parseArgs({
  options: {
    bridge: { type: 'string' },
    'demo-worker': { type: 'string' },
    'broker-config': { type: 'string' },
    'web-root': { type: 'string' },
    screenshot: { type: 'string' },
    mosquitto: { type: 'string', default: '/usr/sbin/mosquitto' },
    'keep-dir': { type: 'boolean', default: false },
  },
});
for (const name of ['bridge', 'demo-worker', 'broker-config', 'web-root', 'screenshot']) {
  if (!opt[name]) {
    console.error(`usage: dashboard.e2e.mjs --bridge PATH --demo-worker PATH --broker-config DIR --web-root DIR --screenshot FILE (missing --${name})`);
    process.exit(2);
  }
}

// playwright-core comes from tests/e2e/node_modules (npm ci); say so plainly when it is missing.
let checks;
try {
  checks = await import('./dashboard-checks.mjs');
} catch (e) {
  console.error(`FAIL: cannot load playwright-core (${e.message}); run: npm ci --prefix tests/e2e`);
  process.exit(1);
}
const { checkDashboard, launchBrowser, log, waitFor } = checks;

const TEST_TIMEOUT_MS = 240000;
const children = [];
let dir;
let closeBrowser = null;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// Starts a child with its output in DIR/<name>.log; remembers it for the final kill.
function start(name, command, args, env = {}) {
  const logFile = join(dir, `${name}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { name, child, logFile, output: '', exited: null };
  const collect = (chunk) => {
    out.write(chunk);
    if (proc.output.length < 1 << 20) proc.output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  child.on('error', (e) => {
    proc.exited = { error: e.message };
  });
  child.on('exit', (code, signal) => {
    proc.exited = { code, signal };
    out.end();
  });
  children.push(proc);
  log(`started ${name}: ${command} ${args.join(' ')}`);
  return proc;
}

function alive(proc) {
  if (proc.exited) {
    const how = proc.exited.error ?? (proc.exited.signal ? `signal ${proc.exited.signal}` : `exit code ${proc.exited.code}`);
    const error = new Error(`${proc.name} stopped (${how}); its output:\n${proc.output.slice(-3000)}`);
    error.fatal = true; // ends a waitFor at once
    throw error;
  }
  return true;
}

async function stopAll() {
  for (const proc of children.reverse()) {
    if (proc.exited) continue;
    proc.child.kill('SIGTERM');
    const gone = await waitFor(`${proc.name} to stop`, () => proc.exited !== null, { ms: 5000, everyMs: 50 }).catch(() => false);
    if (!gone) {
      log(`${proc.name} ignored SIGTERM; killing it`);
      proc.child.kill('SIGKILL');
      await waitFor(`${proc.name} to die`, () => proc.exited !== null, { ms: 5000, everyMs: 50 }).catch(() => {});
    }
  }
}

// Finds the bridge's option for the directory served at `/` from its --help.
async function webRootFlag() {
  const { stdout } = await run(opt.bridge, ['--help'], { timeout: 10000 }).catch((e) => ({ stdout: `${e.stdout ?? ''}` }));
  const flags = [...stdout.matchAll(/--(?:web[-_]?root|web[-_]?dir|static[-_]?dir|static[-_]?root|www[-_]?root|document[-_]?root)\b/g)].map((m) => m[0]);
  if (flags.length === 0) throw new Error(`progress-bridge --help lists no option for the web root (looked for --web-root and similar):\n${stdout}`);
  return flags[0];
}

async function main() {
  dir = await mkdtemp(join(tmpdir(), 'progress-e2e-'));
  log(`work dir ${dir}`);
  const [mqttPort, wsPort, httpPort, adminPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const password = (account) => `${account}-${randomBytes(9).toString('base64url')}`;
  const accounts = Object.fromEntries(['worker', 'bridge', 'alice', 'bob'].map((a) => [a, password(a)]));
  const secret = randomBytes(32).toString('hex');

  // Broker with the project's config, ACL and accounts.
  const brokerDir = join(dir, 'broker');
  await run('mkdir', ['-p', brokerDir]);
  await run(join(opt['broker-config'], 'render-config'), [brokerDir, '--port', String(mqttPort), '--ws-port', String(wsPort)], { timeout: 30000 });
  for (const [account, pw] of Object.entries(accounts)) {
    await run(join(opt['broker-config'], 'progress-user'), ['add', join(brokerDir, 'passwd'), account, pw], { timeout: 30000 });
  }
  const mosquitto = start('mosquitto', opt.mosquitto, ['-c', join(brokerDir, 'mosquitto.conf')]);
  await waitFor(`mosquitto on 127.0.0.1:${mqttPort}`, async () => alive(mosquitto) && accepts(mqttPort), { ms: 20000 });
  const mqttUrl = `tcp://127.0.0.1:${mqttPort}`;

  // The bridge, serving the dashboard.
  const flag = await webRootFlag();
  const bridge = start('progress-bridge', opt.bridge, [
    '--mqtt-url', mqttUrl,
    '--mqtt-username', 'bridge',
    '--mqtt-password', accounts.bridge,
    '--http-listen', `127.0.0.1:${httpPort}`,
    '--admin-listen', `127.0.0.1:${adminPort}`,
    '--jwt-secret', secret,
    flag, opt['web-root'],
  ]);
  const listening = await waitFor(
    'the bridge to log "progress-bridge <version> listening on http://127.0.0.1:<port>"',
    () => alive(bridge) && bridge.output.match(/progress-bridge \S+ listening on (http:\/\/127\.0\.0\.1:\d+)/),
    { ms: 30000 },
  );
  const baseUrl = listening[1];
  log(`bridge at ${baseUrl}`);
  // Ready (connected to the broker) according to its admin listener.
  await waitFor(
    `the bridge's /readyz on 127.0.0.1:${adminPort}`,
    async () => alive(bridge) && (await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(5000) }).catch(() => null))?.status === 200,
    { ms: 30000 },
  );

  const tokenFor = async (user) => {
    const { stdout } = await run(opt.bridge, ['token', '--user', user, '--jwt-secret', secret], { timeout: 10000 });
    const token = stdout.split(/\s+/).find((w) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(w));
    if (!token) throw new Error(`progress-bridge token printed no JWT: ${stdout}`);
    return token;
  };

  // The page is served before any job exists, so a static-file problem shows as such.
  const index = await fetch(`${baseUrl}/`, { signal: AbortSignal.timeout(10000) });
  const html = await index.text();
  if (!index.ok || !html.includes('dashboard.js')) throw new Error(`GET / did not serve the dashboard (HTTP ${index.status})`);

  const chrome = await launchBrowser();
  closeBrowser = chrome.close;
  // Alice and Bob watch side by side. The demo worker's failing job is Bob's, so each sees
  // only their own jobs, Alice's complete, and Bob's failed import shows its error.
  const viewers = [
    { user: 'alice', expectFailed: false, screenshot: opt.screenshot },
    { user: 'bob', expectFailed: true, screenshot: opt.screenshot.replace(/(\.png)?$/, '-bob.png') },
  ];
  for (const viewer of viewers) {
    viewer.token = await tokenFor(viewer.user);
    viewer.page = await chrome.newPage({ viewport: { width: 1280, height: 900 } });
  }

  // Open the pages first, then start the worker: the test sees jobs appear and move live.
  const watching = Promise.all(
    viewers.map((v) => checkDashboard(v.page, { baseUrl, token: v.token, user: v.user, expectFailed: v.expectFailed, screenshot: v.screenshot, timeoutMs: 150000 })),
  );
  for (const { page, user } of viewers) {
    await waitFor(`${user}'s dashboard to connect`, async () => (await page.getAttribute('#connection', 'data-state').catch(() => null)) === 'open', { ms: 30000 }).catch(() => {});
  }
  // One round (four jobs: alice's launch, bob's sell and failing import, carol's scan), sped up.
  const worker = start('progress-demo-worker', opt['demo-worker'], ['--rounds', '1', '--speed', '2'], {
    PROGRESS_MQTT_URL: mqttUrl,
    PROGRESS_MQTT_USERNAME: 'worker',
    PROGRESS_MQTT_PASSWORD: accounts.worker,
  });
  // A worker that exits 0 has simply run all its jobs; one that fails ends the test.
  let finished = false;
  const crashed = waitFor(
    'the test to finish',
    () => {
      if (worker.exited && worker.exited.code !== 0) alive(worker);
      alive(bridge);
      alive(mosquitto);
      return finished;
    },
    { ms: TEST_TIMEOUT_MS, everyMs: 250 },
  );
  try {
    await Promise.race([watching, crashed]);
  } finally {
    finished = true;
  }
  await crashed;
}

const watchdog = setTimeout(async () => {
  console.error(`FAIL: the test took longer than ${TEST_TIMEOUT_MS / 1000} s`);
  await stopAll();
  process.exit(1);
}, TEST_TIMEOUT_MS + 30000);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await stopAll();
    process.exit(1);
  });
}

try {
  await main();
  log('PASS');
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  for (const proc of children) {
    const text = await readFile(proc.logFile, 'utf8').catch(() => '');
    console.error(`--- last lines of ${proc.name}.log ---\n${text.split('\n').slice(-25).join('\n')}`);
  }
  process.exitCode = 1;
} finally {
  if (closeBrowser) await closeBrowser().catch(() => {});
  await stopAll();
  clearTimeout(watchdog);
  if (dir && !opt['keep-dir']) await rm(dir, { recursive: true, force: true });
}
