// A stand-in for progress-bridge that speaks the same HTTP surface (static files, REST,
// WebSocket, SSE; docs/protocol.md) with simulated jobs, so the dashboard can be exercised
// in a browser without MQTT. Tokens are decoded, not verified: this is a test double.
//
//   node fake-bridge.mjs WEB_DIR [PORT]      prints "listening on http://127.0.0.1:<port>"
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png' };

function claimsOf(token) {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    return typeof payload.sub === 'string' ? payload : null;
  } catch {
    return null;
  }
}

/** An HS256-shaped token for the fake (the signature is not checked). */
export function fakeToken(sub, extra = {}) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, exp: Math.floor(Date.now() / 1000) + 3600, ...extra })}.fake`;
}

// Scripted jobs: each step is applied on a tick.
function scenario() {
  const now = () => Date.now();
  const plans = [
    { userId: 'alice', jobId: 'launch-42', type: 'launch_token', totalPhases: 4, titles: ['Validating', 'Compiling', 'Deploying contract', 'Verifying'], steps: 12 },
    { userId: 'alice', jobId: 'import-7', type: 'data_import', total: 10000, steps: 10, failAt: 6 },
    { userId: 'alice', jobId: 'report-3', type: 'report', steps: 5 },
    { userId: 'bob', jobId: 'bob-secret-1', type: 'data_import', total: 500, steps: 8 },
    { userId: 'bob', jobId: 'bob-import-2', type: 'data_import', total: 5000, steps: 9, failAt: 4 },
    { userId: 'carol', jobId: 'carol-render', type: 'render', steps: 6 },
  ];
  return plans.map((p) => ({ ...p, step: 0, seq: 0, state: { userId: p.userId, jobId: p.jobId, type: p.type, status: 'queued', progress: 0, seq: 0, timestamp: now(), updatedAt: now() }, history: [] }));
}

function advance(job) {
  if (['completed', 'failed', 'cancelled'].includes(job.state.status)) return false;
  job.step++;
  const s = { userId: job.userId, jobId: job.jobId, type: job.type, seq: ++job.seq, workerId: 'demo-1', attempt: 0 };
  const frac = Math.min(1, job.step / job.steps);
  s.progress = Math.round(frac * 1000) / 10;
  s.status = frac >= 1 ? 'completed' : 'in_progress';
  if (job.totalPhases) {
    s.totalPhases = job.totalPhases;
    s.phase = Math.min(job.totalPhases, 1 + Math.floor(frac * job.totalPhases));
    s.phaseTitle = job.titles[s.phase - 1];
  }
  if (job.total) {
    s.total = job.total;
    s.current = Math.round(frac * job.total);
    s.detail = `row ${s.current} of ${job.total}`;
  }
  s.message = s.status === 'completed' ? 'Done' : `Working on step ${job.step} of ${job.steps}`;
  s.etaMs = s.status === 'completed' ? undefined : (job.steps - job.step) * 700;
  if (job.failAt && job.step >= job.failAt) {
    s.status = 'failed';
    s.message = 'Import stopped';
    s.error = { message: "Row 6201: invalid date '2024-13-01'", code: 'INVALID_ROW' };
    delete s.etaMs;
  }
  s.timestamp = Date.now();
  s.updatedAt = Date.now();
  job.state = JSON.parse(JSON.stringify(s));
  job.history.push(job.state);
  return true;
}

// Minimal RFC 6455 server side: text frames out, masked text frames in.
function wsFrame(text) {
  const payload = Buffer.from(text);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x81, len]) : len < 65536 ? Buffer.from([0x81, 126, len >> 8, len & 255]) : null;
  if (!head) throw new Error('frame too large for the fake');
  return Buffer.concat([head, payload]);
}

function wsReadFrames(buffer, onText, onClose) {
  let offset = 0;
  while (buffer.length - offset >= 6) {
    const op = buffer[offset] & 0x0f;
    let len = buffer[offset + 1] & 0x7f;
    let pos = offset + 2;
    if (len === 126) {
      if (buffer.length - offset < 8) break;
      len = buffer.readUInt16BE(pos);
      pos += 2;
    } else if (len === 127) {
      onClose();
      return Buffer.alloc(0);
    }
    if (buffer.length < pos + 4 + len) break;
    const mask = buffer.subarray(pos, pos + 4);
    const data = Buffer.from(buffer.subarray(pos + 4, pos + 4 + len));
    for (let i = 0; i < data.length; i++) data[i] ^= mask[i % 4];
    offset = pos + 4 + len;
    if (op === 0x8) onClose();
    else if (op === 0x1) onText(data.toString());
  }
  return buffer.subarray(offset);
}

export async function startFakeBridge({ webDir, port = 0, tickMs = 400, websocket = true }) {
  const jobs = scenario();
  const streams = new Set(); // {userId, send(msg)}
  let revision = 0;
  const cursor = () => `fake.${revision}`;

  const visible = (principal, userId) => principal.role === 'admin' || principal.sub === userId;
  const jobsFor = (scopeUser) => jobs.filter((j) => scopeUser === '*' || j.userId === scopeUser).map((j) => j.state);

  // Jobs start moving when the first stream opens, so a browser sees them from the start.
  let timer = null;
  const startJobs = () => {
    if (timer === null) timer = setInterval(tick, tickMs);
  };
  const tick = () => {
    for (const job of jobs) {
      if (!advance(job)) continue;
      revision++;
      for (const stream of streams) {
        if (stream.userId === '*' || stream.userId === job.userId) stream.send({ type: 'job', job: job.state, cursor: cursor() });
      }
    }
  };

  function authenticate(req, url) {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('access_token');
    return token ? claimsOf(token) : null;
  }

  const json = (res, status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const deny = (res, status = 401) => json(res, status, { error: { code: status === 401 ? 'token_missing' : 'forbidden', message: 'no' } });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const path = url.pathname;
    if (!path.startsWith('/api/')) {
      const file = normalize(join(webDir, path === '/' ? 'index.html' : path));
      if (!file.startsWith(normalize(webDir))) return deny(res, 403);
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
        res.end(body);
      } catch {
        json(res, 404, { error: { code: 'not_found', message: 'not found' } });
      }
      return;
    }
    const principal = authenticate(req, url);
    if (!principal) return deny(res);
    let m;
    if (path === '/api/v1/session') {
      return json(res, 200, { userId: principal.sub, admin: principal.role === 'admin', expiresAt: (principal.exp ?? 0) * 1000 });
    }
    if ((m = path.match(/^\/api\/v1\/users\/([^/]+)\/jobs$/))) {
      if (!visible(principal, m[1])) return deny(res, 403);
      return json(res, 200, { jobs: jobsFor(m[1]), nextCursor: null });
    }
    if (path === '/api/v1/jobs') {
      if (principal.role !== 'admin') return deny(res, 403);
      return json(res, 200, { jobs: jobsFor('*'), nextCursor: null });
    }
    if ((m = path.match(/^\/api\/v1\/users\/([^/]+)\/jobs\/([^/]+)\/events$/))) {
      if (!visible(principal, m[1])) return deny(res, 403);
      const job = jobs.find((j) => j.userId === m[1] && j.jobId === m[2]);
      return job ? json(res, 200, { events: job.history }) : json(res, 404, { error: { code: 'not_found', message: 'no such job' } });
    }
    if ((m = path.match(/^\/api\/v1\/users\/([^/]+)\/stream$/))) {
      const userId = decodeURIComponent(m[1]);
      if (!(visible(principal, userId) || (userId === '*' && principal.role === 'admin'))) return deny(res, 403);
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      const stream = {
        userId,
        send: (msg) => res.write(`event: ${msg.type}\nid: ${msg.cursor ?? ''}\ndata: ${JSON.stringify(msg)}\n\n`),
      };
      stream.send({ type: 'snapshot', jobs: jobsFor(userId), cursor: cursor(), recovered: false });
      streams.add(stream);
      startJobs();
      req.on('close', () => streams.delete(stream));
      return;
    }
    json(res, 404, { error: { code: 'not_found', message: 'no such route' } });
  });

  server.on('upgrade', (req, socket) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const principal = authenticate(req, url);
    if (!websocket || url.pathname !== '/api/v1/ws' || !principal) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const stream = { userId: principal.sub, send: (msg) => socket.writable && socket.write(wsFrame(JSON.stringify(msg))) };
    stream.send({ type: 'snapshot', jobs: jobsFor(stream.userId), cursor: cursor(), recovered: false });
    streams.add(stream);
    startJobs();
    let pending = Buffer.alloc(0);
    const close = () => {
      streams.delete(stream);
      socket.end();
    };
    socket.on('data', (chunk) => {
      pending = wsReadFrames(Buffer.concat([pending, chunk]), (text) => {
        let op;
        try {
          op = JSON.parse(text);
        } catch {
          return stream.send({ type: 'error', code: 'bad_op', message: 'not JSON' });
        }
        if (op.op === 'ping') stream.send({ type: 'pong', id: op.id ?? null });
        else if (op.op === 'subscribe' && typeof op.userId === 'string') {
          if (principal.role !== 'admin' && op.userId !== principal.sub) return stream.send({ type: 'error', code: 'forbidden', message: 'admins only' });
          stream.userId = op.userId;
          stream.send({ type: 'snapshot', jobs: jobsFor(stream.userId), cursor: cursor(), recovered: false });
        } else if (op.op === 'unsubscribe') {
          stream.userId = principal.sub;
          stream.send({ type: 'snapshot', jobs: jobsFor(stream.userId), cursor: cursor(), recovered: false });
        }
      }, close);
    });
    socket.on('close', () => streams.delete(stream));
    socket.on('error', () => streams.delete(stream));
  });

  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${address.port}`,
    async stop() {
      if (timer !== null) clearInterval(timer);
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [webDir, port] = process.argv.slice(2);
  if (!webDir) {
    console.error('usage: fake-bridge.mjs WEB_DIR [PORT]');
    process.exit(2);
  }
  const bridge = await startFakeBridge({ webDir, port: Number(port ?? 0) });
  console.log(`listening on ${bridge.url}`);
  console.log(`alice: ${bridge.url}/#token=${fakeToken('alice')}`);
  console.log(`admin: ${bridge.url}/#token=${fakeToken('ops', { role: 'admin' })}`);
}
