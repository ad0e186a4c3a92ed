// Contender D, the baseline: the least a Node relay can do. An MQTT.js subscriber
// forwards each job state's bytes unchanged to the `ws` connections of its user; a
// connection authenticates with ?access_token=<JWT> on the upgrade.
//
//   node ws-relay.mjs --port N --mqtt-url mqtt://127.0.0.1:P --mqtt-username bridge
//   (secrets from the environment: BENCH_JWT_SECRET, BENCH_MQTT_PASSWORD)
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import mqtt from 'mqtt';
import { WebSocketServer } from 'ws';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    'mqtt-url': { type: 'string' },
    'mqtt-username': { type: 'string', default: 'bridge' },
  },
});
const secret = process.env.BENCH_JWT_SECRET;
if (!args.port || !args['mqtt-url'] || !secret) {
  console.error('usage: ws-relay.mjs --port N --mqtt-url URL (BENCH_JWT_SECRET, BENCH_MQTT_PASSWORD)');
  process.exit(2);
}

const watchers = new Map(); // userId -> Set of sockets
const httpServer = createServer((request, response) => response.writeHead(404).end());
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

httpServer.on('upgrade', (request, socket, head) => {
  const url = new URL(request.url, 'http://relay');
  let userId;
  try {
    userId = jwt.verify(url.searchParams.get('access_token') ?? '', secret, { algorithms: ['HS256'] }).sub;
  } catch {
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(request, socket, head, (ws) => {
    let set = watchers.get(userId);
    if (!set) watchers.set(userId, (set = new Set()));
    set.add(ws);
    ws.on('close', () => {
      set.delete(ws);
      if (set.size === 0) watchers.delete(userId);
    });
    ws.on('error', () => {});
    ws.send('{"type":"ready"}');
  });
});

const subscriber = mqtt.connect(args['mqtt-url'], {
  username: args['mqtt-username'],
  password: process.env.BENCH_MQTT_PASSWORD,
  clientId: `bench-ws-${process.pid}`,
  clean: true,
  reconnectPeriod: 1000,
});
subscriber.on('message', (topic, payload) => {
  const userId = topic.split('/', 2)[1];
  const set = watchers.get(userId);
  if (!set || payload.length === 0) return;
  for (const ws of set) ws.send(payload, { binary: false });
});
subscriber.on('connect', () => {
  subscriber.subscribe('users/+/jobs/+', { qos: 1 }, (error) => {
    if (error) {
      console.error('subscribe failed', error);
      process.exit(1);
    }
    httpServer.listen(Number(args.port), args.host, () => {
      console.error(`ws-relay listening on ${args.host}:${args.port}`);
    });
  });
});
subscriber.on('error', (error) => console.error('mqtt:', error.message));

const shutdown = () => {
  wss.close();
  subscriber.end(true, () => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
