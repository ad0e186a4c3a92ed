// The real system for the JavaScript tests: Mosquitto with the project's broker-config
// (rendered on free loopback ports, fresh accounts) and the progress-bridge binary, plus
// helpers to publish job states as the `worker` account, mint tokens and read metrics.
// Node's standard library only. Every wait is bounded; stop() kills every child it started.
//
//   const system = new ProgressSystem({ bridge, brokerConfig, mosquitto, users: ['alice'] });
//   await system.start();            // system.baseUrl is the bridge's http://127.0.0.1:<port>
//   await system.publish('alice', 'build-7', { status: 'in_progress', progress: 40, seq: 1 });
//   await system.stop();
import { execFile, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
// Output kept in memory per child, for error messages (the whole log is in its file).
const OUTPUT_KEPT = 1 << 20;

export function log(...args) {
  console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...args);
}

/** Polls `check` until it returns a truthy value or `ms` pass; throws `what` on timeout. */
export async function waitFor(what, check, { ms = 30000, everyMs = 200 } = {}) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function freePort() {
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

/** An HS256 JWT signed with `secret`, for claims the bridge's `token` command cannot mint (an exp in the past). */
export function signToken(claims, secret) {
  const part = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export class ProgressSystem {
  /**
   * @param {object} o
   * @param {string} o.bridge        path of progress-bridge
   * @param {string} o.brokerConfig  the project's broker-config directory
   * @param {string} [o.mosquitto]   path of mosquitto
   * @param {string} [o.mosquittoPub] path of mosquitto_pub
   * @param {string} [o.webRoot]     served at / with --web-root
   * @param {string[]} [o.users]     MQTT accounts besides worker and bridge
   * @param {string[]} [o.bridgeArgs] more options for the bridge
   * @param {boolean} [o.keepDir]    keep the work directory (logs, broker files)
   */
  constructor(o) {
    for (const name of ['bridge', 'brokerConfig']) {
      if (!o?.[name]) throw new TypeError(`ProgressSystem: ${name} is required`);
    }
    this.o = { mosquitto: '/usr/sbin/mosquitto', mosquittoPub: 'mosquitto_pub', users: [], bridgeArgs: [], ...o };
    this.children = [];
    this.dir = null;
    this.baseUrl = null;
    this.mqttUrl = null;
    this.accounts = {};
    this.secret = randomBytes(32).toString('hex');
    this.published = 0;
  }

  /** Starts Mosquitto, then the bridge; resolves once the bridge listens and is ready. */
  async start() {
    this.dir = await mkdtemp(join(tmpdir(), 'progress-system-'));
    log(`work dir ${this.dir}`);
    const [mqttPort, wsPort] = [await freePort(), await freePort()];
    for (const account of ['worker', 'bridge', ...this.o.users]) {
      this.accounts[account] = `${account}-${randomBytes(9).toString('base64url')}`;
    }

    const brokerDir = join(this.dir, 'broker');
    await mkdir(brokerDir, { recursive: true });
    const config = this.o.brokerConfig;
    await run(join(config, 'render-config'), [brokerDir, '--port', String(mqttPort), '--ws-port', String(wsPort)], { timeout: 30000 });
    for (const [account, password] of Object.entries(this.accounts)) {
      await run(join(config, 'progress-user'), ['add', join(brokerDir, 'passwd'), account, password], { timeout: 30000 });
    }
    this.mqttPort = mqttPort;
    this.mosquitto = this.spawn('mosquitto', this.o.mosquitto, ['-c', join(brokerDir, 'mosquitto.conf')]);
    await waitFor(`mosquitto on 127.0.0.1:${mqttPort}`, async () => this.alive(this.mosquitto) && accepts(mqttPort), { ms: 20000 });
    this.mqttUrl = `tcp://127.0.0.1:${mqttPort}`;

    const first = await this.startBridge('progress-bridge');
    this.bridge = first.proc;
    this.baseUrl = first.baseUrl;
    this.adminUrl = first.adminUrl;
    return this;
  }

  /**
   * Starts a bridge on the broker: with start(), the system's own; called again, another
   * replica (its own ports, journal and MQTT client id). Resolves once it is ready, with
   * {proc, baseUrl, adminUrl}; stop() ends it.
   */
  async startBridge(name) {
    const [httpPort, adminPort] = [await freePort(), await freePort()];
    const webRoot = this.o.webRoot ? ['--web-root', this.o.webRoot] : [];
    const proc = this.spawn(name, this.o.bridge, [
      '--mqtt-url', this.mqttUrl,
      '--mqtt-username', 'bridge',
      '--mqtt-password', this.accounts.bridge,
      '--mqtt-client-id', name,
      '--http-listen', `127.0.0.1:${httpPort}`,
      '--admin-listen', `127.0.0.1:${adminPort}`,
      '--jwt-secret', this.secret,
      '--data-dir', join(this.dir, `${name}-data`),
      '--drain-period', '0', // stop() waits 5 s for SIGTERM
      ...webRoot,
      ...this.o.bridgeArgs,
    ]);
    const listening = await waitFor(
      `${name} to log "progress-bridge <version> listening on http://127.0.0.1:<port>"`,
      () => this.alive(proc) && proc.output.match(/progress-bridge \S+ listening on (http:\/\/127\.0\.0\.1:\d+)/),
      { ms: 30000 },
    );
    // Probes and metrics are served on the admin listener only.
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    await waitFor(`${name} to be ready (/readyz)`, async () => {
      this.alive(proc);
      return (await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;
    }, { ms: 30000 });
    log(`${name} at ${listening[1]}`);
    return { proc, baseUrl: listening[1], adminUrl };
  }

  /** Starts a child with its output in <dir>/<name>.log; stop() ends it. */
  spawn(name, command, args, env = {}) {
    const logFile = join(this.dir, `${name}.log`);
    const out = createWriteStream(logFile);
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = { name, child, logFile, output: '', exited: null };
    const collect = (chunk) => {
      out.write(chunk);
      if (proc.output.length < OUTPUT_KEPT) proc.output += chunk.toString();
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
    this.children.push(proc);
    log(`started ${name}: ${command} ${args.map((a) => (a === this.accounts.bridge || a === this.secret ? '***' : a)).join(' ')}`);
    return proc;
  }

  /** True while `proc` runs; throws (ending any waitFor at once) with its output once it stopped. */
  alive(proc) {
    if (proc.exited) {
      const how = proc.exited.error ?? (proc.exited.signal ? `signal ${proc.exited.signal}` : `exit code ${proc.exited.code}`);
      const error = new Error(`${proc.name} stopped (${how}); its output:\n${proc.output.slice(-3000)}`);
      error.fatal = true;
      throw error;
    }
    return true;
  }

  /** A token for `user` from `progress-bridge token`, signed with this bridge's secret unless told otherwise. */
  async token(user, { admin = false, ttl, secret = this.secret } = {}) {
    const args = ['token', '--user', user, '--jwt-secret', secret];
    if (admin) args.push('--admin');
    if (ttl) args.push('--ttl', ttl);
    const { stdout } = await run(this.o.bridge, args, { timeout: 10000 });
    const token = stdout.split(/\s+/).find((w) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(w));
    if (!token) throw new Error(`progress-bridge token printed no JWT: ${stdout}`);
    return token;
  }

  /**
   * Publishes a job state as the worker account: retained, QoS 1, MQTT v5 (so a refusal is an
   * error). `null` publishes the empty payload that removes the job.
   */
  async publish(userId, jobId, state) {
    const payload = state === null ? ['-n'] : ['-m', typeof state === 'string' ? state : JSON.stringify(state)];
    await run(this.o.mosquittoPub, [
      '-h', '127.0.0.1', '-p', String(this.mqttPort), '-V', 'mqttv5',
      '-u', 'worker', '-P', this.accounts.worker,
      '-i', `test-publisher-${process.pid}-${++this.published}`,
      '-t', `users/${userId}/jobs/${jobId}`, ...payload, '-r', '-q', '1',
    ], { timeout: 10000 });
  }

  /** The value of one sample of the bridge's /metrics (0 when absent), e.g. metric('progress_bridge_streams_open', {transport: 'websocket'}). */
  async metric(name, labels = {}) {
    const text = await (await fetch(`${this.adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const line of text.split('\n')) {
      const m = line.match(/^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/);
      if (!m || m[1] !== name) continue;
      if (wanted.every((pair) => (m[2] ?? '').includes(pair))) return Number(m[3]);
    }
    return 0;
  }

  /** The last lines of every child's log, for a failure report. */
  async logs(lines = 25) {
    const parts = [];
    for (const proc of this.children) {
      const text = await readFile(proc.logFile, 'utf8').catch(() => '');
      parts.push(`--- last lines of ${proc.name}.log ---\n${text.split('\n').slice(-lines).join('\n')}`);
    }
    return parts.join('\n');
  }

  /** Stops every child (SIGTERM, then SIGKILL after 5 s) and removes the work directory. */
  async stop() {
    for (const proc of [...this.children].reverse()) {
      if (proc.exited) continue;
      proc.child.kill('SIGTERM');
      const gone = await waitFor(`${proc.name} to stop`, () => proc.exited !== null, { ms: 5000, everyMs: 50 }).catch(() => false);
      if (!gone) {
        log(`${proc.name} ignored SIGTERM; killing it`);
        proc.child.kill('SIGKILL');
        await waitFor(`${proc.name} to die`, () => proc.exited !== null, { ms: 5000, everyMs: 50 }).catch(() => {});
      }
    }
    if (this.dir && !this.o.keepDir) await rm(this.dir, { recursive: true, force: true });
  }
}
