// The transport over MQTT.js (MQTT v5): the seam the publisher sends through,
// so that tests can replace the network with a fake (test/support/fake-transport.mjs).
//
// - presence: the Last Will puts a retained {"status":"offline",...} on
//   workers/<workerId>/status when the connection dies; every connect publishes
//   {"status":"online",...} there, and disconnect() publishes "offline" itself
//   (the broker discards the Will on a clean disconnect);
// - subscriptions (QoS 1) are made again after every reconnect (the session starts
//   clean); their messages go to the handler set with onMessage();
// - reconnects every second; QoS 1 messages handed over while the connection is
//   down wait in MQTT.js's store and leave on reconnect (the publisher bounds
//   how many with maxBuffered).

import mqtt from 'mqtt';

import { PublishError } from './errors.js';
import { workerStatusTopic } from './topic.js';

const RECONNECT_PERIOD_MS = 1000;
const KEEPALIVE_S = 20;

// The C++ SDK's scheme names are accepted as well.
function brokerUrl(url) {
  return url.replace(/^tcp:\/\//, 'mqtt://').replace(/^ssl:\/\//, 'mqtts://');
}

export function toPublishError(error, what = '') {
  if (error instanceof PublishError) return error;
  const code = error?.code;
  if (typeof code === 'number' && code >= 0x80) return PublishError.rejected(code, what);
  const text = error?.message ?? String(error);
  if (/disconnecting|connection closed|client disconnected/i.test(text)) {
    return new PublishError('disconnected', `${what}disconnected before the broker acknowledged (${text})`);
  }
  return new PublishError('client_error', `${what}MQTT client error: ${text}`);
}

export class MqttTransport {
  #options;
  #statusTopic;
  #client = null;
  #outstanding = new Map(); // id -> done; at most maxBuffered (the publisher counts them)
  #nextId = 1;
  #disconnected = false;
  #onMessage = null;

  constructor(options) {
    this.#options = options;
    this.#statusTopic = workerStatusTopic(options.workerId);
  }

  #statusPayload(status) {
    // Keys sorted, as the C++ SDK writes them.
    return JSON.stringify({ status, timestamp: Date.now(), workerId: this.#options.workerId });
  }

  async connect() {
    const o = this.#options;
    const client = mqtt.connect(brokerUrl(o.url), {
      protocolVersion: 5,
      clientId: o.clientId,
      username: o.username || undefined,
      password: o.password || undefined,
      clean: true,
      keepalive: KEEPALIVE_S,
      reconnectPeriod: RECONNECT_PERIOD_MS,
      connectTimeout: o.connectTimeoutMs,
      resubscribe: true,
      queueQoSZero: false,
      will: { topic: this.#statusTopic, payload: Buffer.from(this.#statusPayload('offline')), qos: 1, retain: true },
    });
    this.#client = client;
    client.on('message', (topic, payload) => {
      try {
        this.#onMessage?.(topic, payload);
      } catch {
        // Never throw into MQTT.js's packet handling.
      }
    });
    client.on('connect', () => {
      client.publish(this.#statusTopic, this.#statusPayload('online'), { qos: 1, retain: true }, () => {});
    });
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new PublishError('timed_out', `no answer from ${o.url} within ${o.connectTimeoutMs} ms`)),
          o.connectTimeoutMs,
        );
        const done = (error) => {
          clearTimeout(timer);
          client.off('connect', onConnect);
          client.off('error', onError);
          if (error) reject(toPublishError(error, `cannot connect to ${o.url}: `));
          else resolve();
        };
        const onConnect = () => done(null);
        const onError = (error) => done(error);
        client.on('connect', onConnect);
        client.on('error', onError);
      });
    } catch (error) {
      this.#disconnected = true;
      await client.endAsync(true).catch(() => {});
      throw error;
    }
    // After the first connect, connection errors only mean "reconnecting"; an
    // EventEmitter without an 'error' listener would throw them at the process.
    client.on('error', () => {});
  }

  /** Set once, before connect(): every message on a subscribed topic. */
  onMessage(handler) {
    this.#onMessage = handler;
  }

  /** QoS 1, made again after every reconnect; `done(error|null)` once the broker answered the first time. */
  subscribe(filter, done) {
    if (this.#disconnected) return done(new PublishError('closed', 'the connection was closed'));
    this.#client.subscribe(filter, { qos: 1 }, (error, granted) => {
      const code = granted?.[0]?.qos;
      if (error) done(toPublishError(error, `subscription to ${filter} refused: `));
      else if (typeof code === 'number' && code >= 0x80) done(PublishError.rejected(code, `subscription to ${filter} refused: `));
      else done(null);
    });
  }

  unsubscribe(filter) {
    if (this.#disconnected) return;
    this.#client.unsubscribe(filter, () => {});
  }

  publish(topic, payload, { qos, retain }, done) {
    const id = this.#nextId++;
    this.#outstanding.set(id, done);
    const finish = (error) => {
      const callback = this.#outstanding.get(id);
      if (!callback) return; // already failed by disconnect()
      this.#outstanding.delete(id);
      callback(error ? toPublishError(error) : null);
    };
    if (this.#disconnected) return finish(new PublishError('closed', 'the connection was closed'));
    try {
      this.#client.publish(topic, payload, { qos, retain }, (error) => finish(error));
    } catch (error) {
      finish(error);
    }
  }

  async disconnect() {
    if (this.#disconnected || !this.#client) return;
    this.#disconnected = true;
    const client = this.#client;
    const timeoutMs = this.#options.connectTimeoutMs;
    const within = (promise) =>
      Promise.race([promise.then(() => true, () => false), new Promise((resolve) => setTimeout(resolve, timeoutMs, false).unref())]);
    if (client.connected) {
      await within(client.publishAsync(this.#statusTopic, this.#statusPayload('offline'), { qos: 1, retain: true }));
    }
    // Waits for the messages in flight, then closes; a broker that is gone gets no more time than connect did.
    if (!(await within(client.endAsync(false)))) await client.endAsync(true).catch(() => {});
    for (const [id, done] of this.#outstanding) {
      this.#outstanding.delete(id);
      done(new PublishError('disconnected', 'disconnected before the broker acknowledged'));
    }
  }
}
