// The wsticket demo page. It never prints, stores or sends a ticket
// anywhere but to ticketd's WebSocket endpoints.
import { connect } from "./wsticket.js";

const jwt = document.querySelector('meta[name="wsticket-jwt"]').content;
const audience = document.querySelector('meta[name="wsticket-audience"]').content;
const wsBase = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
const ticketUrl = "/v1/tickets";
const params = new URLSearchParams(location.search);
const logEl = document.getElementById("log");

// Short-login mode, /demo?login=<seconds>: before every mint the page gets
// a fresh login JWT lasting that long from the dev-only POST /demo/login
// (as an app refreshes its login), so the server asks each socket to
// re-authenticate half-way through its login, and the log shows the
// sockets staying open across one short login after another. Without it
// the page mints with its 24-hour login.
const loginSeconds = params.has("login") ? Number(params.get("login")) : 0;
const shortLogin = loginSeconds > 0;

async function getAuthHeader() {
  if (!shortLogin) return "Bearer " + jwt;
  const resp = await fetch("/demo/login?ttl=" + encodeURIComponent(loginSeconds), { method: "POST" });
  if (resp.status !== 200) throw new Error(`/demo/login answered ${resp.status}`);
  return "Bearer " + (await resp.text());
}

function log(text, cls = "") {
  const line = document.createElement("div");
  line.className = cls;
  line.textContent = new Date().toLocaleTimeString() + "  " + text;
  logEl.append(line);
  logEl.scrollTop = logEl.scrollHeight;
}

function endpoint(base, transport) {
  return base + (transport === "first-message" ? "/ws/first-message" : "/ws");
}

// --- Watching re-authentication ----------------------------------------------

// watched returns the browser's WebSocket class, extended to tell onFrame
// about the re-authentication the client library does on an open socket
// (the library keeps those frames from the application): {type: "reauth",
// expires_at} when the server asks, {type: "auth_ok", expires_at, rtt_ms}
// when it answers the client's auth frame, rtt_ms after that frame was
// sent and cycle_ms after the reauth (the fresh login and mint included). It never reads, keeps or shows the ticket in the auth frame.
function watched(onFrame) {
  return class extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      let asked = false, askedAt = null, sentAt = null;
      this.noteSend = (data) => {
        if (asked && typeof data === "string" && data.startsWith('{"type":"auth"')) { asked = false; sentAt = performance.now(); }
      };
      this.addEventListener("message", (e) => {
        if (typeof e.data !== "string" || !e.data.startsWith("{")) return;
        let m;
        try { m = JSON.parse(e.data); } catch { return; }
        if (m.type === "reauth") {
          asked = true;
          askedAt = performance.now();
          onFrame({ type: "reauth", expires_at: m.expires_at });
        } else if (m.type === "auth_ok" && sentAt !== null) {
          const now = performance.now(), rtt_ms = now - sentAt, cycle_ms = now - askedAt;
          sentAt = null;
          onFrame({ type: "auth_ok", expires_at: m.expires_at, rtt_ms, cycle_ms });
        }
      });
    }
    send(data) {
      this.noteSend(data);
      super.send(data);
    }
  };
}

const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "?");

function logFrame(transport, f) {
  if (f.type === "reauth") log(`${transport}: the server asks to re-authenticate before ${clock(f.expires_at)}; minting a fresh ticket`, "info");
  else log(`${transport}: re-authenticated in band in ${Math.round(f.rtt_ms)} ms (auth → auth_ok); the session now ends at ${clock(f.expires_at)}, same socket`, "ok");
}

// --- The interactive part -------------------------------------------------

let sock = null;

// connectDemo opens a demo socket with the client library, as the
// transport buttons do: reconnecting, re-authenticating in band, and
// logging what happens. onFrame, when given, also hears the
// re-authentication frames (see watched), and onAuthError why the client
// stopped for good.
function connectDemo(transport, { onFrame, onAuthError } = {}) {
  const s = connect({
    ticketUrl, audience, transport, getAuthHeader,
    url: endpoint(wsBase + "/demo", transport),
    reconnect: { initialDelayMs: 250, maxDelayMs: 5000 },
    WebSocket: watched((f) => { logFrame(transport, f); onFrame?.(f); }),
    onAuthError: (e) => { log(authErrorText(e), "bad"); onAuthError?.(e); },
  });
  s.addEventListener("open", () => log(`open via ${transport}; the server echoed protocol "${s.protocol || ""}"`, "ok"));
  s.addEventListener("message", (e) => log(`echo: ${e.data}`));
  s.addEventListener("reconnecting", (e) => log(`connection lost; reconnecting with a fresh ticket in ${e.delayMs} ms (attempt ${e.attempt})`, "info"));
  s.addEventListener("close", (e) => log(`closed (${closeText(e)})`, "info"));
  s.addEventListener("error", () => log("socket error", "bad"));
  return s;
}

function open(transport) {
  if (sock) sock.close(1000, "switching transport");
  log(`asking ticketd for a ticket, then connecting via ${transport}…`, "info");
  sock = connectDemo(transport);
  return sock;
}

// authErrorText says why the client stopped for good (onAuthError).
function authErrorText(e) {
  switch (e && e.kind) {
    case "revoked": return "the server revoked this user (1008 revoked): stopped, no reconnect";
    case "auth": return "ticketd refused the login JWT (401): stopped";
    case "rejected": return "the server rejected the re-authentication (4401): stopped";
    case "expired": return "the login expired and could not be renewed (4440): stopped";
    default: return `authentication ended the connection (${(e && e.kind) || "unknown"}): stopped`;
  }
}

// mint asks ticketd for a ticket directly (the client library does this for
// every connect; the attack demos need the raw ticket).
async function mint(aud, cookie = false) {
  const resp = await fetch(ticketUrl, {
    method: "POST", credentials: "include",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + jwt },
    body: JSON.stringify({ audience: aud, cookie }),
  });
  if (resp.status !== 201) throw new Error(`ticketd answered ${resp.status}`);
  return (await resp.json()).ticket;
}

// tryOpen opens a raw WebSocket and reports whether the upgrade succeeded,
// the protocol the server echoed, and whether one message echoed back.
function tryOpen(url, protocols = []) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols);
    const timer = setTimeout(() => { ws.close(); resolve({ opened: false, code: "timeout" }); }, 8000);
    let opened = false;
    ws.onopen = () => { opened = true; ws.send("ping"); };
    ws.onmessage = (e) => {
      clearTimeout(timer);
      const protocol = ws.protocol;
      ws.close(1000);
      resolve({ opened: true, protocol, echoed: e.data === "ping" });
    };
    ws.onclose = (e) => { if (!opened) { clearTimeout(timer); resolve({ opened: false, code: e.code }); } };
  });
}

async function replay() {
  const t = await mint(audience);
  const url = wsBase + "/demo/ws?ticket=" + encodeURIComponent(t);
  const first = await tryOpen(url);
  log(`first use of a ticket: ${first.opened ? "admitted" : "refused"}`, first.opened ? "ok" : "bad");
  const second = await tryOpen(url);
  log(`replay of the same ticket: ${second.opened ? "ADMITTED (bug!)" : "refused before the upgrade"}`, second.opened ? "bad" : "ok");
  return { first, second };
}

async function otherAudience() {
  const t = await mint("not-" + audience);
  const r = await tryOpen(wsBase + "/demo/ws?ticket=" + encodeURIComponent(t));
  log(`ticket minted for another audience: ${r.opened ? "ADMITTED (bug!)" : "refused (and burned)"}`, r.opened ? "bad" : "ok");
  return r;
}

async function drop() {
  const r = await (await fetch("/demo/drop", { method: "POST" })).json();
  log(`server dropped ${r.dropped} socket(s)`, "info");
  return r.dropped;
}

// --- Revocation reaching live sockets ----------------------------------------

// REVOKE_SKEW_MS is wsmiddleware.RevokerOptions.ClockSkew's default: a
// revocation also closes sockets whose tickets were minted up to this long
// after it (for clock differences between ticketd replicas), so the fresh
// ticket that proves the user is not banned is minted once it has passed.
const REVOKE_SKEW_MS = 1000;
// REVOKE_CLOSE_MS bounds how long a revoked socket may stay open, counted
// from the start of the revoke call.
const REVOKE_CLOSE_MS = 2000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

// revokeMe revokes this page's user through the demo's dev-only route.
async function revokeMe() {
  const resp = await fetch("/demo/revoke", { method: "POST" });
  if (resp.status !== 200) throw new Error(`/demo/revoke answered ${resp.status}`);
  return (await resp.json()).revoked;
}

// held connects with the client library (no reconnect) and resolves, once
// one message has echoed, with the open socket: echo(msg) sends and awaits
// the echo, closed resolves with {code, at} when the socket closes.
function held(transport, url, aud) {
  return new Promise((resolve, reject) => {
    const s = connect({ ticketUrl, url, audience: aud, transport, getAuthHeader, reconnect: false });
    let settled = false, waiting = null, onClosed;
    const closed = new Promise((r) => { onClosed = r; });
    const settle = (fn, v) => { if (!settled) { settled = true; clearTimeout(timer); fn(v); } };
    const timer = setTimeout(() => { s.close(); settle(reject, new Error(`${transport}: timed out opening`)); }, 8000);
    const echo = (msg) => new Promise((res, rej) => {
      waiting = { msg, res };
      closed.then((c) => rej(new Error(`${transport}: closed (code ${c.code}) before echoing`)));
      setTimeout(() => rej(new Error(`${transport}: no echo within 8 s`)), 8000);
      try { s.send(msg); } catch (e) { rej(e); }
    });
    s.addEventListener("message", (e) => {
      if (waiting && e.data === waiting.msg) { const w = waiting; waiting = null; w.res(); }
    });
    s.addEventListener("close", (e) => {
      onClosed({ code: e.code, at: performance.now() });
      settle(reject, new Error(`${transport}: closed before it echoed (${closeText(e)})`));
    });
    s.addEventListener("open", () => {
      echo("hello " + transport).then(
        () => settle(resolve, { echo, closed, close: () => s.close(1000) }),
        (e) => settle(reject, e));
    });
  });
}

// revocation opens a socket to base over each transport, revokes the
// user, and expects every socket closed with 1008 within REVOKE_CLOSE_MS
// of the revoke call; then, once the clock-skew window has passed, a
// ticket minted after the revocation must connect and echo: revoking kills
// the user's tickets and sockets, it does not ban the user.
async function revocation(base, aud, transports = ["query", "first-message"]) {
  const socks = {};
  try {
    for (const t of transports) socks[t] = await held(t, endpoint(base, t), aud);
    log(`${base}: open via ${transports.join(" and ")}; revoking user…`, "info");
    const t0 = performance.now();
    const revoked = await revokeMe();
    const revokedAt = performance.now();
    log(`revoked: ticketd killed ${revoked} outstanding ticket(s); the call took ${Math.round(revokedAt - t0)} ms`, "info");
    const closes = {};
    for (const t of transports) {
      const c = await Promise.race([socks[t].closed, sleep(t0 + REVOKE_CLOSE_MS - performance.now()).then(() => null)]);
      if (!c) throw new Error(`${t}: still open ${REVOKE_CLOSE_MS} ms after the revoke call`);
      if (c.code !== 1008) throw new Error(`${t}: closed with code ${c.code}, want 1008`);
      closes[t] = { code: c.code, ms: Math.round(c.at - t0) };
      log(`${t} socket closed with 1008, ${closes[t].ms} ms after the revoke call`, "ok");
    }
    await sleep(revokedAt + REVOKE_SKEW_MS + 200 - performance.now());
    try {
      const fresh = await held("query", endpoint(base, "query"), aud);
      try {
        await sleep(250);
        await fresh.echo("after the revocation");
      } finally {
        fresh.close();
      }
    } catch (e) {
      throw new Error(`a ticket minted after the revocation: ${(e && e.message) || e}`);
    }
    log("a ticket minted after the revocation connects and echoes: the user is not banned", "ok");
    return { revoke_ms: Math.round(revokedAt - t0), revoked_tickets: revoked, closes, fresh: "connected and echoed" };
  } finally {
    for (const s of Object.values(socks)) s.close();
  }
}

for (const b of document.querySelectorAll("button[data-transport]")) {
  b.addEventListener("click", () => open(b.dataset.transport));
}
document.getElementById("disconnect").addEventListener("click", () => { if (sock) sock.close(1000, "bye"); sock = null; });
document.getElementById("send").addEventListener("click", () => {
  if (!sock || sock.readyState !== 1) return log("not connected", "bad");
  sock.send(document.getElementById("message").value);
});
document.getElementById("replay").addEventListener("click", () => replay().catch((e) => log(String(e), "bad")));
document.getElementById("audience").addEventListener("click", () => otherAudience().catch((e) => log(String(e), "bad")));
document.getElementById("drop").addEventListener("click", () => drop().catch((e) => log(String(e), "bad")));
// lastRevoke is the latest "Revoke me" run, for the revoke-me scenario.
let lastRevoke = null;
document.getElementById("revoke").addEventListener("click", () => {
  lastRevoke = revocation(wsBase + "/demo", audience);
  lastRevoke.catch((e) => log(String(e), "bad"));
});
document.getElementById("selftest").addEventListener("click", () => selftest({}));

// --- The self-test: every scenario, with results ---------------------------
// ?selftest=<collector>&echo=<ws base of examples/echo>&foreign=<page URL>
// runs it automatically and POSTs the results to <collector>/results; the
// real-browser tests drive the page this way.

const TRANSPORTS = ["query", "subprotocol", "cookie", "first-message"];

// viaClient connects with the client library, echoes one message, and
// resolves with the protocol the server echoed.
function viaClient(transport, url, aud) {
  return new Promise((resolve, reject) => {
    const s = connect({ ticketUrl, url, audience: aud, transport, getAuthHeader, reconnect: false });
    const timer = setTimeout(() => { s.close(); reject(new Error("timed out")); }, 8000);
    let opened = false;
    s.addEventListener("open", () => { opened = true; s.send("hello " + transport); });
    s.addEventListener("message", (e) => {
      clearTimeout(timer);
      const protocol = s.protocol;
      s.close(1000);
      if (e.data !== "hello " + transport) reject(new Error("wrong echo"));
      else resolve({ protocol });
    });
    s.addEventListener("close", (e) => { if (!opened) { clearTimeout(timer); reject(new Error("refused, close code " + e.code)); } });
  });
}

function checkProtocol(transport, protocol) {
  if (protocol && protocol.startsWith("wsticket.")) throw new Error("the server echoed the secret entry");
  if (transport === "subprotocol" && protocol !== "wsticket") throw new Error(`echoed protocol "${protocol}", want "wsticket"`);
  return { protocol };
}

async function reconnects() {
  return new Promise((resolve, reject) => {
    let opens = 0, reconnecting = 0;
    const s = connect({
      ticketUrl, audience, transport: "query", getAuthHeader,
      url: wsBase + "/demo/ws", reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
    });
    const timer = setTimeout(() => { s.close(); reject(new Error(`timed out after ${opens} opens`)); }, 15000);
    s.addEventListener("reconnecting", () => { reconnecting++; });
    s.addEventListener("open", () => {
      opens++;
      if (opens === 1) drop();
      else s.send("after reconnect");
    });
    s.addEventListener("message", (e) => {
      if (opens >= 2 && e.data === "after reconnect") {
        clearTimeout(timer);
        s.close(1000);
        resolve({ opens, reconnecting });
      }
    });
  });
}

async function selftest({ collector, echoBase, foreign }) {
  const results = [];
  const check = async (name, fn) => {
    try {
      results.push({ name, ok: true, detail: await fn() });
      log(`PASS ${name}`, "ok");
    } catch (e) {
      results.push({ name, ok: false, detail: String((e && e.message) || e) });
      log(`FAIL ${name}: ${(e && e.message) || e}`, "bad");
    }
  };
  const refused = async (promise) => {
    const r = await promise;
    if (r.opened) throw new Error("admitted");
    return r;
  };
  for (const t of TRANSPORTS) {
    await check(`demo/${t}`, async () => checkProtocol(t, (await viaClient(t, endpoint(wsBase + "/demo", t), audience)).protocol));
  }
  if (echoBase) {
    for (const t of TRANSPORTS) {
      await check(`echo/${t}`, async () => checkProtocol(t, (await viaClient(t, endpoint(echoBase, t), "echo")).protocol));
    }
  }
  await check("replay refused", async () => {
    const { first, second } = await replay();
    if (!first.opened || !first.echoed) throw new Error("the first use was refused");
    if (second.opened) throw new Error("the replay was admitted");
    return { second_close: second.code };
  });
  await check("wrong audience refused", () => refused(otherAudience()));
  if (echoBase) {
    await check("demo ticket refused at echo", async () => refused(tryOpen(echoBase + "/ws?ticket=" + encodeURIComponent(await mint(audience)))));
    await check("echo ticket refused at demo", async () => refused(tryOpen(wsBase + "/demo/ws?ticket=" + encodeURIComponent(await mint("echo")))));
  }
  await check("reconnects with a fresh ticket", reconnects);
  // Last: a revocation also closes sockets opened within the skew window
  // after it; each check waits that out before it returns.
  await check("demo/revocation closes the socket", () => revocation(wsBase + "/demo", audience));
  if (echoBase) {
    // examples/echo follows ticketd's gRPC revocation stream.
    await check("echo/revocation closes the socket", () => revocation(echoBase, "echo"));
  }
  log(`self-test: ${results.filter((r) => r.ok).length} of ${results.length} passed`, "info");
  if (collector) {
    await fetch(collector + "/results", { method: "POST", mode: "no-cors", body: JSON.stringify({ page: "demo", userAgent: navigator.userAgent, results }) });
  }
  if (foreign) {
    // Leave a fresh cookie ticket in the browser, then visit a page of
    // another origin that tries to open a socket with it (CSWSH).
    await mint(audience, true);
    location.href = foreign + "?target=" + encodeURIComponent(wsBase + "/demo/ws");
  }
  return results;
}

if (params.has("selftest") && params.has("scenario")) {
  scenario(params.get("scenario"), params.get("selftest"));
} else if (params.has("selftest")) {
  selftest({ collector: params.get("selftest"), echoBase: params.get("echo"), foreign: params.get("foreign") });
} else {
  log(shortLogin ? `ready: pick a transport (short logins of ${loginSeconds} s: watch the socket re-authenticate)` : "ready: pick a transport", "info");
}

// --- Scenarios for the real-browser tests ----------------------------------
// ?selftest=<collector>&scenario=<name> runs one scenario on the sockets the
// transport buttons open and POSTs its results as page "demo-<name>":
//   reauth (with ?login=<seconds>): a socket over each of query and
//     first-message re-authenticates in band ?cycles= (default 2) times, one
//     short login after another, and stays the same connection throughout;
//   revoke-me: with a socket open, "Revoke me" is pressed; the socket closes
//     with 1008 "revoked" and never reconnects.

function opened(s, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not open within ${ms} ms`)), ms);
    s.addEventListener("open", () => { clearTimeout(timer); resolve(); }, { once: true });
    s.addEventListener("close", (e) => { clearTimeout(timer); reject(new Error(`closed before it opened (${closeText(e)})`)); }, { once: true });
  });
}

function echoed(s, msg, ms = 8000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo of ${JSON.stringify(msg)} within ${ms} ms`)), ms);
    const on = (e) => { if (e.data === msg) { clearTimeout(timer); s.removeEventListener("message", on); resolve(); } };
    s.addEventListener("message", on);
    s.send(msg);
  });
}

// reauthOn keeps one socket open over transport until it has
// re-authenticated `cycles` times, then checks it still echoes.
async function reauthOn(transport, cycles) {
  const st = { transport, login_s: loginSeconds, opens: 0, reconnecting: 0, errors: 0, auth_error: "", closed: null, reauths: 0, cycles: [], open_ms: 0 };
  let openedAt = 0, enough;
  const reached = new Promise((r) => { enough = r; });
  const s = connectDemo(transport, {
    onFrame: (f) => {
      if (f.type === "reauth") { st.reauths++; return; }
      st.cycles.push({ rtt_ms: f.rtt_ms, cycle_ms: f.cycle_ms, at_ms: Math.round(performance.now() - openedAt), expires_at: f.expires_at });
      if (st.cycles.length >= cycles) enough();
    },
    onAuthError: (e) => { st.auth_error = e.kind; },
  });
  s.addEventListener("open", () => { if (st.opens++ === 0) openedAt = performance.now(); });
  s.addEventListener("reconnecting", () => { st.reconnecting++; });
  s.addEventListener("error", () => { st.errors++; });
  const closed = new Promise((r) => s.addEventListener("close", (e) => { st.closed = { code: e.code, reason: e.reason }; r(); }));
  try {
    await opened(s);
    const limit = sleep(cycles * loginSeconds * 1000 + 20000).then(() => "timeout");
    const how = await Promise.race([reached.then(() => "reached"), closed.then(() => "closed"), limit]);
    if (how !== "reached") throw new Error(`${how} after ${st.cycles.length} of ${cycles} re-authentications: ${JSON.stringify(st)}`);
    await echoed(s, "still here after " + cycles + " re-authentications");
    st.open_ms = Math.round(performance.now() - openedAt);
    if (st.opens !== 1 || st.reconnecting !== 0 || st.closed) throw new Error(`not the same connection: ${JSON.stringify(st)}`);
    if (st.open_ms <= loginSeconds * 1000) throw new Error(`open ${st.open_ms} ms, not past its first login of ${loginSeconds} s`);
    log(`${transport}: ${st.cycles.length} in-band re-authentications on one socket, open ${st.open_ms} ms on ${loginSeconds}-second logins`, "ok");
    return JSON.parse(JSON.stringify(st)); // as it was before the page's own close below
  } finally {
    s.close(1000, "done");
  }
}

async function reauthScenario(check) {
  if (!shortLogin) throw new Error("the reauth scenario needs ?login=<seconds>");
  const cycles = Number(params.get("cycles") || 2);
  await Promise.all(["query", "first-message"].map((t) => check(`reauth/${t}`, () => reauthOn(t, cycles))));
}

// revokeMe opens the interactive socket as the Query string button does,
// presses "Revoke me", and watches the socket for reconnects until a few
// seconds after the button's own checks are done.
async function revokeMeScenario(check) {
  await check("revoke me", async () => {
    const st = { opens: 0, reconnecting: 0, opens_after: 0, reconnecting_after: 0, closed: null, close_ms: null, auth_error: "" };
    let t0 = null;
    const s = open("query");
    s.addEventListener("open", () => { st.opens++; if (t0 !== null) st.opens_after++; });
    s.addEventListener("reconnecting", () => { st.reconnecting++; if (t0 !== null) st.reconnecting_after++; });
    s.addEventListener("close", (e) => { st.closed = { code: e.code, reason: e.reason }; if (t0 !== null) st.close_ms = Math.round(performance.now() - t0); });
    // onAuthError is set by open(); the close code and this kind say the same.
    await opened(s);
    t0 = performance.now();
    document.getElementById("revoke").click();
    const revocation = await lastRevoke;
    // A reconnect starts within the backoff's first delays (250 ms and up).
    await sleep(3000);
    st.revocation = revocation;
    if (!st.closed || st.closed.code !== 1008 || st.closed.reason !== "revoked") throw new Error(`the socket: ${JSON.stringify(st)}, want closed with 1008 "revoked"`);
    if (st.opens_after !== 0 || st.reconnecting_after !== 0) throw new Error(`reconnected after "Revoke me": ${JSON.stringify(st)}`);
    log(`"Revoke me": the socket closed with 1008 after ${st.close_ms} ms and did not reconnect`, "ok");
    return st;
  });
}

async function scenario(name, collector) {
  const results = [];
  const check = async (n, fn) => {
    try {
      results.push({ name: n, ok: true, detail: await fn() });
      log(`PASS ${n}`, "ok");
    } catch (e) {
      results.push({ name: n, ok: false, detail: String((e && e.message) || e) });
      log(`FAIL ${n}: ${(e && e.message) || e}`, "bad");
    }
  };
  switch (name) {
    case "reauth": await reauthScenario(check); break;
    case "revoke-me": await revokeMeScenario(check); break;
    default: results.push({ name, ok: false, detail: "no such scenario" });
  }
  await fetch(collector + "/results", { method: "POST", mode: "no-cors", body: JSON.stringify({ page: "demo-" + name, userAgent: navigator.userAgent, results }) });
}

// closeText describes a close event: its code and, when the server gave
// one, its reason (such as 1008 "ticket revoked").
function closeText(e) {
  return e.reason ? `code ${e.code}, reason ${JSON.stringify(e.reason)}` : `code ${e.code}`;
}
