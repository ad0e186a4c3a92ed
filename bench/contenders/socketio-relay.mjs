// Contender B: the Socket.IO architecture of the reference documents. An MQTT.js
// subscriber receives every job state and emits it to the room `user_<userId>`; each
// browser authenticates with a JWT in its Socket.IO CONNECT packet and is put in its
// user's room. WebSocket transport only, bufferutil installed.
//
//   node socketio-relay.mjs --port N --mqtt-url mqtt://127.0.0.1:P --mqtt-username bridge
//   (secrets from the environment: BENCH_JWT_SECRET, BENCH_MQTT_PASSWORD)
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import mqtt from 'mqtt';
import { Server } from 'socket.io';

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
  console.error('usage: socketio-relay.mjs --port N --mqtt-url URL (BENCH_JWT_SECRET, BENCH_MQTT_PASSWORD)');
  process.exit(2);
}

const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
});

io.use((socket, next) => {
  try {
    const claims = jwt.verify(socket.handshake.auth?.token ?? '', secret, { algorithms: ['HS256'] });
    socket.data.userId = claims.sub;
    socket.data.admin = claims.role === 'admin';
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});

io.on('connection', (socket) => {
  const room = socket.data.admin ? 'admin_jobs' : `user_${socket.data.userId}`;
  socket.join(room);
  socket.emit('subscribed', { room });
});

const subscriber = mqtt.connect(args['mqtt-url'], {
  username: args['mqtt-username'],
  password: process.env.BENCH_MQTT_PASSWORD,
  clientId: `bench-socketio-${process.pid}`,
  clean: true,
  reconnectPeriod: 1000,
});
const jobTopic = /^users\/([^/]+)\/jobs\/([^/]+)$/;
subscriber.on('message', (topic, payload) => {
  const match = jobTopic.exec(topic);
  if (!match) return;
  const [, userId, jobId] = match;
  if (payload.length === 0) {
    io.to(`user_${userId}`).to('admin_jobs').emit('job_removed', { userId, jobId });
    return;
  }
  let event;
  try {
    event = JSON.parse(payload.toString('utf8'));
  } catch {
    return;
  }
  io.to(`user_${userId}`).to('admin_jobs').emit('worker_progress', event);
});

subscriber.on('connect', () => {
  subscriber.subscribe('users/+/jobs/+', { qos: 1 }, (error) => {
    if (error) {
      console.error('subscribe failed', error);
      process.exit(1);
    }
    httpServer.listen(Number(args.port), args.host, () => {
      console.error(`socketio-relay listening on ${args.host}:${args.port}`);
    });
  });
});
subscriber.on('error', (error) => console.error('mqtt:', error.message));

const shutdown = () => {
  io.close();
  subscriber.end(true, () => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
