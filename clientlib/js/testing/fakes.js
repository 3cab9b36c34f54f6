// Test doubles for wsticket.js: a scriptable fetch, a recording WebSocket and
// a manual clock. Kept outside test/ so that `node --test test/` does not run
// this file as a test of its own.

export const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.SECRET-signature-xyz";
export const AUTH = `Bearer ${JWT}`;

// Lets pending promises, fetch bodies and microtasks settle.
export async function flush(rounds = 10) {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export async function waitFor(pred, what = "condition") {
  for (let i = 0; i < 200; i++) {
    if (pred()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function json(status, body, headers = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

/**
 * makeEnv returns fakes wired together plus `options(extra)`, which builds
 * connect() options using them. `env.plan` is a queue of fetch outcomes:
 * a number (status, no body), a Response, an Error (network failure) or a
 * function (init) => Response. When it is empty, fetch mints a new ticket.
 */
export function makeEnv({ random = () => 0.5 } = {}) {
  const env = {
    sockets: [],
    calls: [],
    tickets: [], // every ticket the fake ticket endpoint handed out
    plan: [],
    events: [], // every event the socket under test emitted, in order
    delays: [], // every setTimeout delay the client asked for
  };

  let n = 0;
  env.fetch = async (url, init) => {
    const call = { url, init, body: JSON.parse(init.body) };
    env.calls.push(call);
    const step = env.plan.shift();
    if (step instanceof Error) throw step;
    if (typeof step === "number") return json(step, { error: { code: "x", message: "x" } });
    if (step instanceof Response) return step;
    if (typeof step === "function") return step(init);
    const expires = { expires_at: "2030-01-01T00:00:00Z", expires_in: 30 };
    if (call.body.cookie) return json(201, expires); // ticketd sets the cookie instead
    const ticket = `wst_T${++n}-${Math.random().toString(36).slice(2)}`;
    env.tickets.push(ticket);
    return json(201, { ticket, ...expires });
  };

  class FakeWebSocket {
    constructor(...args) {
      this.args = args;
      this.url = args[0];
      this.protocols = args[1];
      this.readyState = 0;
      this.protocol = "";
      this.binaryType = "blob";
      this.sent = [];
      this.closeCalls = [];
      this.onopen = this.onmessage = this.onerror = this.onclose = null;
      env.sockets.push(this);
    }
    send(data) {
      if (this.readyState !== 1) throw new Error("InvalidStateError");
      this.sent.push(data);
    }
    close(code, reason) {
      this.closeCalls.push([code, reason]);
      if (this.readyState >= 2) return;
      this.readyState = 2;
      queueMicrotask(() => this.#fireClose(code ?? 1005, reason ?? "", true));
    }
    // Server side of the fake:
    serverOpen(protocol = "") {
      this.protocol = protocol;
      this.readyState = 1;
      this.onopen?.({ type: "open" });
    }
    serverMessage(data) {
      this.onmessage?.({ type: "message", data });
    }
    serverClose(code = 1000, reason = "", wasClean = true) {
      this.#fireClose(code, reason, wasClean);
    }
    // A refused upgrade, as browsers report it: error, then close 1006.
    serverRefuse() {
      this.onerror?.({ type: "error" });
      this.#fireClose(1006, "", false);
    }
    #fireClose(code, reason, wasClean) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onclose?.({ type: "close", code, reason, wasClean });
    }
  }
  env.WebSocket = FakeWebSocket;

  // Manual clock.
  let now = 0;
  let seq = 0;
  const timers = new Map();
  env.clock = {
    setTimeout(fn, ms) {
      env.delays.push(ms);
      const id = ++seq;
      timers.set(id, { fn, at: now + ms });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id);
    },
    pending() {
      return timers.size;
    },
    now() {
      return now;
    },
    // Runs every timer due within ms, letting promises settle after each.
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        let next = null;
        for (const [id, t] of timers) if (t.at <= target && (!next || t.at < next[1].at)) next = [id, t];
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
        await flush();
      }
      now = target;
      await flush();
    },
  };

  env.options = (extra = {}) => ({
    ticketUrl: "http://127.0.0.1:8080/v1/tickets",
    url: "ws://127.0.0.1:8080/demo/ws",
    audience: "demo",
    getAuthHeader: async () => AUTH,
    WebSocket: FakeWebSocket,
    fetch: env.fetch,
    setTimeout: env.clock.setTimeout,
    clearTimeout: env.clock.clearTimeout,
    now: env.clock.now,
    random,
    ...extra,
  });

  // Records every event of sock into env.events.
  env.record = (sock) => {
    for (const type of ["open", "message", "error", "close", "reconnecting"]) {
      sock.addEventListener(type, (e) => env.events.push(e));
    }
    return sock;
  };
  env.of = (type) => env.events.filter((e) => e.type === type);
  env.last = () => env.sockets[env.sockets.length - 1];
  env.nextSocket = async (count) => {
    await waitFor(() => env.sockets.length >= count, `socket #${count}`);
    return env.sockets[count - 1];
  };
  return env;
}

// The ticket a socket carries, whichever the transport.
export function ticketOf(ws) {
  const q = /[?&]ticket=([^&]*)/.exec(ws.url);
  if (q) return decodeURIComponent(q[1]);
  const p = (ws.protocols ?? []).find((x) => x.startsWith("wsticket."));
  if (p) return p.slice("wsticket.".length);
  const auth = ws.sent.map((s) => { try { return JSON.parse(s); } catch { return null; } }).find((m) => m?.type === "auth");
  return auth?.ticket;
}
