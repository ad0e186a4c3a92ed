// A real Mosquitto running the project's broker-config (render-config, accounts by
// progress-user) on a free loopback port, and the real progress-bridge, as child
// processes for the integration tests. Paths come from the environment (ctest sets
// them): PROGRESS_BROKER_CONFIG, PROGRESS_BRIDGE_BINARY, MOSQUITTO (default /usr/sbin/mosquitto).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as connectSocket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ACCOUNTS = ['worker', 'bridge', 'alice', 'bob'];
export const JWT_SECRET = randomBytes(32).toString('hex');

export function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (ctest sets it; see publisher-sdk/js/CMakeLists.txt)`);
  return value;
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
    const socket = connectSocket({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls `condition` every 20 ms until it returns a truthy value; throws after `ms`. */
export async function waitFor(what, condition, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

class Child {
  constructor(name, command, args, env = {}) {
    this.name = name;
    this.output = '';
    this.exit = null;
    this.process = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk) => {
      if (this.output.length < 1 << 20) this.output += chunk;
    };
    this.process.stdout.on('data', collect);
    this.process.stderr.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => resolve((this.exit = { code, signal })));
      this.process.on('error', (error) => resolve((this.exit = { error: error.message })));
    });
  }

  async stop(signal = 'SIGTERM') {
    if (this.exit) return this.exit;
    this.process.kill(signal);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
    return this.exit;
  }
}

export { Child };

/** Starts Mosquitto and the bridge; `stop()` ends both and removes the directory. */
export async function startSystem({ bridge = true } = {}) {
  const brokerConfig = requiredEnv('PROGRESS_BROKER_CONFIG');
  const dir = await mkdtemp(join(tmpdir(), 'progress-sdk-js-'));
  const children = [];
  const system = {
    dir,
    passwords: Object.fromEntries(ACCOUNTS.map((a) => [a, `${a}-${randomBytes(9).toString('hex')}`])),
    async stop() {
      for (const child of children.reverse()) await child.stop();
      if (!process.env.PROGRESS_KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
    },
    logs() {
      return children.map((c) => `--- ${c.name}\n${c.output.slice(-4000)}`).join('\n');
    },
  };
  try {
    const [mqttPort, wsPort] = [await freePort(), await freePort()];
    await run(join(brokerConfig, 'render-config'), [dir, '--port', String(mqttPort), '--ws-port', String(wsPort)]);
    for (const [account, password] of Object.entries(system.passwords)) {
      await run(join(brokerConfig, 'progress-user'), ['add', join(dir, 'passwd'), account, password]);
    }
    // Started again on the same port, with the same accounts and retained messages.
    system.startBroker = async () => {
      const mosquitto = new Child('mosquitto', process.env.MOSQUITTO || '/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')]);
      children.unshift(mosquitto);
      await waitFor('mosquitto to accept connections', async () => {
        if (mosquitto.exit) throw new Error(`mosquitto stopped:\n${mosquitto.output}`);
        return accepts(mqttPort);
      });
      system.mosquitto = mosquitto;
    };
    system.stopBroker = () => system.mosquitto.stop();
    await system.startBroker();
    system.mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;

    if (bridge) {
      const binary = requiredEnv('PROGRESS_BRIDGE_BINARY');
      const env = { BRIDGE_JWT_SECRET: JWT_SECRET, BRIDGE_MQTT_PASSWORD: system.passwords.bridge };
      const child = new Child('progress-bridge', binary, [
        '--mqtt-url', `tcp://127.0.0.1:${mqttPort}`, '--mqtt-username', 'bridge',
        '--mqtt-client-id', `bridge-${randomBytes(4).toString('hex')}`, '--http-listen', '127.0.0.1:0',
        '--admin-listen', '127.0.0.1:0',
        '--data-dir', join(dir, 'bridge-data'),
      ], env);
      children.push(child);
      const match = await waitFor('the bridge to listen', () => {
        if (child.exit) throw new Error(`progress-bridge stopped:\n${child.output}`);
        return /progress-bridge \S+ listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(child.output);
      });
      system.bridgeUrl = `http://127.0.0.1:${match[1]}`;
      system.token = async (user) => {
        const { stdout } = await run(binary, ['token', '--user', user], { env: { ...process.env, BRIDGE_JWT_SECRET: JWT_SECRET } });
        return stdout.trim();
      };
    }
    return system;
  } catch (error) {
    await system.stop();
    throw error;
  }
}
