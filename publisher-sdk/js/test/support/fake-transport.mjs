// A transport that records what it is given and completes each publish the way a
// test asks: at once, with an error, or when released; deliver() plays a message
// arriving on a subscribed topic. And a clock that only moves when a test advances it.
export class FakeTransport {
  sent = [];
  connects = 0;
  disconnects = 0;
  #held = [];
  #hold = false;
  #failWith = null;
  #onMessage = null;
  subscriptions = new Set();
  subscribes = 0;
  subscribeError = null;

  onMessage(handler) {
    this.#onMessage = handler;
  }

  subscribe(filter, done) {
    this.subscriptions.add(filter);
    this.subscribes++;
    done(this.subscribeError);
  }

  unsubscribe(filter) {
    this.subscriptions.delete(filter);
  }

  deliver(topic, payload) {
    if (this.subscriptions.has(topic)) this.#onMessage?.(topic, Buffer.from(payload));
  }

  async connect() {
    this.connects++;
  }

  async disconnect() {
    this.disconnects++;
  }

  publish(topic, payload, { qos, retain }, done) {
    this.sent.push({ topic, payload, qos, retain });
    if (this.#hold) this.#held.push(done);
    else done(this.#failWith);
  }

  failWith(error) {
    this.#failWith = error;
  }

  hold() {
    this.#hold = true;
  }

  release(error = null) {
    const held = this.#held;
    this.#held = [];
    this.#hold = false;
    for (const done of held) done(error);
  }

  json(i) {
    return JSON.parse(this.sent.at(i).payload);
  }
}

export class ManualClock {
  static START_UNIX_MS = 1_700_000_000_000;
  elapsed = 3_600_000; // well past zero, so "never sent" is not mistaken for "long ago"

  now() {
    return this.elapsed;
  }

  unixMs() {
    return ManualClock.START_UNIX_MS + this.elapsed - 3_600_000;
  }

  advance(ms) {
    this.elapsed += ms;
  }
}
