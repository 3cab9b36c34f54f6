// wsticket browser client: opens a WebSocket with a fresh single-use ticket
// for every connect and every reconnect. Dependency-free ES module.
//
// Secrets (tickets, the Authorization header) live only in local variables:
// they are never logged, never put in an error message or an event, and
// never exposed on the returned object.

const COMPANION = "wsticket";
const SECRET_PREFIX = "wsticket.";
const TRANSPORTS = ["query", "subprotocol", "cookie", "first-message"];
// RFC 7230 token characters: what a Sec-WebSocket-Protocol value may hold.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_TIMER_MS = 2147483647;

/**
 * 4401: the synthetic close code after the ticket endpoint answered 401, and
 * the server's close code for a rejected ticket (first-message) or a
 * rejected re-authentication (on an open connection: the client stops).
 */
export const CLOSE_UNAUTHENTICATED = 4401;
/** 1008 with reason "revoked": the server revoked the user or session. The client stops. */
export const CLOSE_REVOKED = 1008;
/** 4440 "session expired": the login behind the connection expired. The client renews once. */
export const CLOSE_SESSION_EXPIRED = 4440;
/** 1012 (service restart): reconnect after at least reconnect.serviceRestartFloorMs. */
export const CLOSE_SERVICE_RESTART = 1012;
/** 1013 (try again later): reconnect after at least reconnect.tryAgainLaterFloorMs. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** The error carried by "error" events and passed to onAuthError. It never holds a ticket. */
export class WsTicketError extends Error {
  constructor(kind, message, { status, code, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "WsTicketError";
    this.kind = kind;
    if (status !== undefined) this.status = status;
    if (code !== undefined) this.code = code;
  }
}

/**
 * Connects to a WebSocket endpoint protected by wsticket and keeps it
 * connected, minting a fresh single-use ticket (POST ticketUrl) before every
 * connect and every reconnect.
 *
 * Events: "open" (usable; for "first-message" only after the server's
 * auth_ok), "message" ({data}), "error" ({error: WsTicketError}),
 * "reconnecting" ({attempt, delayMs}: a connection was lost or an attempt
 * failed and another follows after delayMs), and "close" ({code, reason,
 * wasClean}) exactly once, when the socket is finally closed: after close(),
 * after a 401 from the ticket endpoint (code 4401, synthetic), after a server
 * echoing the secret subprotocol entry (code 1002, synthetic), or when
 * reconnecting stops (the last socket's close, or 1006 if none).
 *
 * @param {import("./wsticket.js").ConnectOptions} options
 * @returns {import("./wsticket.js").TicketSocket}
 */
export function connect(options) {
  const o = normalize(options);
  const listeners = new Map();
  let readyState = 0;
  let protocol = "";
  let binaryType = "blob";
  let ws = null; // the current underlying socket, if any
  let run = 0; // bumped whenever an attempt is abandoned; stale callbacks compare it
  let failures = 0; // reconnect attempts since the last stable connection
  let renewing = false; // renewed after a session expiry; no stable connection or auth_ok since
  let reauthing = null; // {abort} of the re-authentication mint in flight
  let timer = null; // the backoff timer
  let abort = null; // aborts the ticket request in flight
  let userClosed = false;
  let done = false;

  const sock = {
    CONNECTING: 0,
    OPEN: 1,
    CLOSING: 2,
    CLOSED: 3,
    get readyState() { return readyState; },
    get protocol() { return protocol; },
    get url() { return o.url; },
    get binaryType() { return binaryType; },
    set binaryType(v) {
      binaryType = v;
      if (ws) ws.binaryType = v;
    },
    addEventListener(type, fn) {
      if (typeof fn !== "function") return;
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(fn);
    },
    removeEventListener(type, fn) {
      listeners.get(type)?.delete(fn);
    },
    send(data) {
      if (readyState !== 1 || !ws) throw new WsTicketError("state", "wsticket: the socket is not open");
      ws.send(data);
    },
    close(code, reason) {
      if (code !== undefined && code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
        throw new RangeError("wsticket: close code must be 1000 or in 3000-4999");
      }
      if (done || userClosed) return;
      userClosed = true;
      if (ws) {
        // Closing the live socket; its close event finishes the wrapper.
        try {
          if (code === undefined) ws.close();
          else ws.close(code, reason);
        } catch (err) {
          userClosed = false;
          throw err;
        }
        readyState = 2;
        return;
      }
      finish({ code: code ?? 1005, reason: reason ?? "", wasClean: true });
    },
  };

  function emit(type, fields) {
    const event = { type, target: sock, ...fields };
    for (const fn of [...(listeners.get(type) ?? [])]) {
      try {
        fn.call(sock, event);
      } catch (err) {
        queueMicrotask(() => { throw err; }); // reported like an EventTarget listener error
      }
    }
  }

  // finish ends the client for good and emits "close" once. notify, when
  // given, runs after the teardown and before "close" (which is emitted
  // even if notify throws): onAuthError after a 401, or an "error" event
  // after another final answer from the ticket endpoint.
  function finish({ code, reason, wasClean }, notify) {
    if (done) return;
    done = true;
    readyState = 3;
    run++;
    if (timer !== null) o.clearTimeout(timer);
    timer = null;
    abort?.abort();
    abort = null;
    cancelReauth();
    if (ws) discard(ws);
    try {
      notify?.();
    } finally {
      emit("close", { code, reason, wasClean });
    }
  }

  function discard(s) {
    s.onopen = s.onmessage = s.onerror = s.onclose = null;
    try { s.close(); } catch { /* already closing */ }
    if (ws === s) ws = null;
  }

  function cancelReauth() {
    reauthing?.abort();
    reauthing = null;
  }

  // After a failed attempt or a lost connection: back off and try again, or
  // stop. The delay is full jitter over the exponential cap, added to
  // floorMs (1012, 1013, Retry-After); immediate (the one renewal after a
  // session expiry) skips the backoff.
  function retry(last, { floorMs = 0, immediate = false } = {}) {
    ws = null;
    if (done || userClosed) return;
    readyState = 0;
    if (failures >= o.maxAttempts) {
      finish(last ?? { code: 1006, reason: "", wasClean: false });
      return;
    }
    failures += 1;
    let delayMs = 0;
    if (!immediate) {
      const cap = Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** Math.min(failures - 1, 1023));
      delayMs = Math.min(floorMs + Math.floor(o.random() * cap), MAX_TIMER_MS);
    }
    emit("reconnecting", { attempt: failures, delayMs });
    if (done || userClosed) return; // a listener called close()
    const id = run;
    timer = o.setTimeout(() => {
      timer = null;
      if (id === run && !done && !userClosed) start();
    }, delayMs);
  }

  function start() {
    attempt().catch((err) => queueMicrotask(() => { throw err; }));
  }

  async function mint(signal) {
    let auth = null;
    if (o.getAuthHeader) {
      try {
        auth = await o.getAuthHeader();
      } catch (cause) {
        throw new WsTicketError("ticket", "wsticket: getAuthHeader failed", { cause });
      }
    }
    const headers = { "Content-Type": "application/json" };
    if (auth != null) headers.Authorization = String(auth);
    const body = {};
    if (o.audience !== undefined) body.audience = o.audience;
    if (o.transport === "cookie") body.cookie = true;
    let res;
    try {
      res = await o.fetch(o.ticketUrl, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        credentials: "include",
        signal,
      });
    } catch (cause) {
      throw new WsTicketError("ticket", "wsticket: the ticket request failed", { cause });
    }
    if (res.status === 401) {
      throw new WsTicketError("auth", "wsticket: the ticket endpoint answered 401", { status: 401 });
    }
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
      // 400, 403 (an Origin ticketd does not allow), 404…: asking again
      // cannot help, so the client stops instead of retrying forever.
      throw new WsTicketError("refused", `wsticket: the ticket endpoint refused the request (${res.status})`, { status: res.status });
    }
    if (!res.ok) {
      const err = new WsTicketError("ticket", `wsticket: the ticket endpoint answered ${res.status}`, { status: res.status });
      const wait = retryAfterMs(res);
      if (wait !== undefined) err.retryAfterMs = wait;
      throw err;
    }
    // Cookie transport: ticketd set an HttpOnly cookie; script never sees the ticket.
    if (o.transport === "cookie") return null;
    let data = null;
    try {
      data = await res.json();
    } catch {
      // No cause: a parser's message may quote the body.
    }
    const ticket = data && typeof data === "object" ? data.ticket : undefined;
    if (typeof ticket !== "string" || ticket === "") {
      throw new WsTicketError("ticket", "wsticket: the ticket endpoint answered without a ticket", { status: res.status });
    }
    return ticket;
  }

  function openSocket(ticket) {
    switch (o.transport) {
      case "query": {
        const sep = o.url.endsWith("?") || o.url.endsWith("&") ? "" : o.url.includes("?") ? "&" : "?";
        return new o.WebSocket(
          `${o.url}${sep}${encodeURIComponent(o.queryParam)}=${encodeURIComponent(ticket)}`,
          o.protocols,
        );
      }
      case "subprotocol":
        return new o.WebSocket(o.url, [...o.protocols, COMPANION, SECRET_PREFIX + ticket]);
      default: // cookie, first-message
        return new o.WebSocket(o.url, o.protocols);
    }
  }

  // Final answers from the ticket endpoint stop the client: 401 goes to
  // onAuthError; another 4xx that will not change on retry is an "error"
  // and closes with 4000 + its status. Reports whether err was one.
  function stopOnFinalMintError(err) {
    if (err.kind === "auth") {
      finish({ code: CLOSE_UNAUTHENTICATED, reason: "unauthenticated", wasClean: false }, () => o.onAuthError?.(err));
      return true;
    }
    if (err.kind === "refused") {
      finish({ code: 4000 + err.status, reason: "ticket request refused", wasClean: false }, () => emit("error", { error: err }));
      return true;
    }
    return false;
  }

  // The server's {"type":"reauth"} on the open socket s: mint a fresh ticket
  // exactly as for a connect (getAuthHeader asked again) and answer
  // {"type":"auth","ticket":...}. One mint at a time; a repeated reauth
  // while one is in flight is answered by it. The cookie transport cannot
  // answer in-band (script never holds its ticket): it waits for the
  // session-expiry close and renews by reconnecting.
  function reauth(s, id) {
    if (reauthing !== null || o.transport === "cookie") return;
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const mine = { abort: () => controller?.abort() };
    reauthing = mine;
    const live = () => reauthing === mine && id === run && ws === s && readyState === 1 && !done;
    mint(controller?.signal).then(
      (ticket) => {
        if (!live()) return;
        reauthing = null;
        try {
          s.send(JSON.stringify({ type: "auth", ticket }));
        } catch {
          // Closing already: its close event decides what happens next.
        }
      },
      (err) => {
        if (!live()) return;
        reauthing = null;
        if (stopOnFinalMintError(err)) return;
        // The connection stays open; a repeated reauth frame tries again,
        // else the session-expiry close leads to one renewal.
        emit("error", { error: err });
      },
    ).catch((err) => queueMicrotask(() => { throw err; }));
  }

  async function attempt() {
    const id = ++run;
    // A failed attempt: exactly one "error", then a retry (or the final "close").
    const failed = (error, last, mode) => {
      if (id !== run) return;
      emit("error", { error });
      if (id === run) retry(last, mode); // unless a listener called close()
    };

    const controller = typeof AbortController === "function" ? new AbortController() : null;
    abort = controller;
    let ticket;
    try {
      ticket = await mint(controller?.signal);
    } catch (err) {
      if (id !== run) return;
      abort = null;
      if (stopOnFinalMintError(err)) return;
      // 429 or 503 with Retry-After: wait at least that long.
      return failed(err, undefined, { floorMs: err.retryAfterMs ?? 0 });
    }
    if (id !== run) return;
    abort = null;

    if (o.transport === "subprotocol" && !TOKEN.test(SECRET_PREFIX + ticket)) {
      return failed(new WsTicketError("ticket", "wsticket: the ticket is not a valid subprotocol token"));
    }
    let s;
    try {
      s = openSocket(ticket);
    } catch {
      // No cause: the browser's message may quote the URL or the protocols.
      return failed(new WsTicketError("socket", "wsticket: could not create the WebSocket"));
    }
    if (o.transport !== "first-message") ticket = null;
    ws = s;
    try { s.binaryType = binaryType; } catch { /* not supported by this implementation */ }

    let opened = false;
    let openedAt = 0;
    let authTimer = null;
    const becomeOpen = () => {
      opened = true;
      openedAt = o.now();
      protocol = s.protocol || "";
      readyState = 1;
      emit("open", {});
    };

    s.onopen = () => {
      if (id !== run) return;
      if (o.transport === "subprotocol" && String(s.protocol).toLowerCase().startsWith(SECRET_PREFIX)) {
        // A broken server echoed the secret entry: never expose it, never use the socket.
        discard(s);
        emit("error", { error: new WsTicketError("protocol", "wsticket: the server echoed the secret subprotocol entry") });
        finish({ code: 1002, reason: "", wasClean: false });
        return;
      }
      if (o.transport !== "first-message") return becomeOpen();
      if (userClosed) return;
      s.send(JSON.stringify({ type: "auth", ticket }));
      ticket = null;
      authTimer = o.setTimeout(() => {
        authTimer = null;
        if (id !== run || userClosed) return;
        discard(s);
        failed(new WsTicketError("timeout", `wsticket: no auth_ok within ${o.firstMessageTimeoutMs} ms`));
      }, o.firstMessageTimeoutMs);
    };

    // Only a connection that stayed open for stableAfterMs resets the
    // backoff (and ends a session-expiry renewal): one that the server
    // closes right after opening keeps backing off.
    const settle = () => {
      if (opened && o.now() - openedAt >= o.stableAfterMs) {
        failures = 0;
        renewing = false;
      }
    };

    s.onmessage = (ev) => {
      if (id !== run) return;
      const control = controlFrame(ev.data);
      if (opened) {
        if (control === null) return emit("message", { data: ev.data });
        // reauth and auth_ok are the client's; the application never sees them.
        if (control.type === "reauth") reauth(s, id);
        else renewing = false; // auth_ok: the session was extended in-band
        return;
      }
      if (authTimer === null) return; // dropped before auth_ok
      if (control?.type === "auth_ok") {
        o.clearTimeout(authTimer);
        authTimer = null;
        becomeOpen();
      }
    };

    // Browsers follow an error with a close (1006); some implementations (Node 20's
    // experimental WebSocket on a refused upgrade) never close. The error alone ends the socket.
    s.onerror = () => {
      if (id !== run) return;
      if (authTimer !== null) o.clearTimeout(authTimer);
      authTimer = null;
      cancelReauth();
      discard(s);
      const last = { code: 1006, reason: "", wasClean: false };
      if (userClosed) return finish(last);
      settle();
      failed(new WsTicketError("socket", "wsticket: WebSocket error"), last);
    };

    s.onclose = (ev) => {
      if (id !== run) return;
      if (authTimer !== null) o.clearTimeout(authTimer);
      authTimer = null;
      cancelReauth();
      ws = null;
      const last = { code: ev.code, reason: ev.reason ?? "", wasClean: !!ev.wasClean };
      if (userClosed) return finish(last);
      settle();
      const code = ev.code;
      const stop = (kind, message) => finish(last, () => o.onAuthError?.(new WsTicketError(kind, message, { code })));
      if (code === CLOSE_REVOKED && last.reason === "revoked") {
        return stop("revoked", "wsticket: the server revoked the session (1008)");
      }
      if (opened && code === CLOSE_UNAUTHENTICATED) {
        return stop("rejected", "wsticket: the server rejected the re-authentication (4401)");
      }
      let mode;
      if (code === CLOSE_SESSION_EXPIRED) {
        // Renew once: mint at once (a refreshed login mints, an expired one
        // gets 401 and stops). Expiring again before a stable connection or
        // an auth_ok means the login cannot be renewed: stop, never loop.
        if (renewing) return stop("expired", "wsticket: the session expired again right after it was renewed (4440)");
        renewing = true;
        mode = { immediate: true };
      } else if (code === CLOSE_SERVICE_RESTART) {
        mode = { floorMs: o.serviceRestartFloorMs };
      } else if (code === CLOSE_TRY_AGAIN_LATER) {
        mode = { floorMs: o.tryAgainLaterFloorMs };
      }
      if (!opened) {
        return failed(new WsTicketError("closed", `wsticket: the connection closed before it opened (code ${code})`, { code }), last, mode);
      }
      retry(last, mode);
    };
  }

  start();
  return sock;
}

function normalize(opts) {
  if (!opts || typeof opts !== "object") throw new TypeError("wsticket: connect needs an options object");
  const { ticketUrl, url } = opts;
  if (typeof ticketUrl !== "string" || ticketUrl === "") throw new TypeError("wsticket: ticketUrl is required");
  if (typeof url !== "string" || !/^wss?:\/\/[^#]+$/i.test(url)) {
    throw new TypeError("wsticket: url must be a ws:// or wss:// URL without a fragment");
  }
  const transport = opts.transport ?? "query";
  if (!TRANSPORTS.includes(transport)) throw new TypeError(`wsticket: unknown transport ${JSON.stringify(transport)}`);
  const protocols = opts.protocols ?? [];
  if (!Array.isArray(protocols) || !protocols.every((p) => typeof p === "string" && TOKEN.test(p))) {
    throw new TypeError("wsticket: protocols must be an array of subprotocol tokens");
  }
  if (new Set(protocols).size !== protocols.length) throw new TypeError("wsticket: protocols has duplicates");
  if (protocols.some((p) => p === COMPANION || p.startsWith(SECRET_PREFIX))) {
    throw new TypeError('wsticket: protocols must not contain "wsticket" or "wsticket.*"; the client adds them');
  }
  const queryParam = opts.queryParam ?? "ticket";
  if (typeof queryParam !== "string" || queryParam === "") throw new TypeError("wsticket: queryParam must be a non-empty string");
  if (transport === "query" && new RegExp(`[?&]${escapeRe(encodeURIComponent(queryParam))}=`).test(url)) {
    throw new TypeError(`wsticket: url already has a ${queryParam} parameter`);
  }
  if (opts.audience !== undefined && typeof opts.audience !== "string") throw new TypeError("wsticket: audience must be a string");

  let rc = opts.reconnect ?? true;
  if (rc === true) rc = {};
  if (rc === false) rc = { maxAttempts: 0 };
  if (typeof rc !== "object") throw new TypeError("wsticket: reconnect must be a boolean or an object");
  const initialDelayMs = rc.initialDelayMs ?? 500;
  const maxDelayMs = rc.maxDelayMs ?? 30000;
  const maxAttempts = rc.maxAttempts ?? Infinity;
  const stableAfterMs = rc.stableAfterMs ?? 5000;
  const serviceRestartFloorMs = rc.serviceRestartFloorMs ?? 1000;
  const tryAgainLaterFloorMs = rc.tryAgainLaterFloorMs ?? 2000;
  const firstMessageTimeoutMs = opts.firstMessageTimeoutMs ?? 5000;
  const numbers = { initialDelayMs, maxDelayMs, maxAttempts, stableAfterMs, serviceRestartFloorMs, tryAgainLaterFloorMs, firstMessageTimeoutMs };
  for (const [name, v] of Object.entries(numbers)) {
    if (typeof v !== "number" || Number.isNaN(v) || v < 0) throw new TypeError(`wsticket: ${name} must be a number >= 0`);
  }

  const WS = opts.WebSocket ?? globalThis.WebSocket;
  if (typeof WS !== "function") throw new TypeError("wsticket: no WebSocket implementation (pass options.WebSocket)");
  // Defaults are wrapped so that they are never called with a foreign `this` ("Illegal invocation").
  const fetchFn = opts.fetch ?? (typeof globalThis.fetch === "function" ? (u, i) => globalThis.fetch(u, i) : null);
  if (typeof fetchFn !== "function") throw new TypeError("wsticket: no fetch implementation (pass options.fetch)");
  const setT = opts.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
  const clearT = opts.clearTimeout ?? ((t) => globalThis.clearTimeout(t));
  const random = opts.random ?? Math.random;
  const now = opts.now ?? (typeof globalThis.performance?.now === "function" ? () => globalThis.performance.now() : Date.now);

  return {
    ticketUrl, url, transport, protocols: [...protocols], queryParam,
    audience: opts.audience,
    getAuthHeader: opts.getAuthHeader,
    onAuthError: opts.onAuthError,
    initialDelayMs, maxDelayMs, maxAttempts, stableAfterMs, serviceRestartFloorMs, tryAgainLaterFloorMs,
    firstMessageTimeoutMs,
    WebSocket: WS,
    fetch: (u, i) => fetchFn(u, i),
    setTimeout: (fn, ms) => setT(fn, ms),
    clearTimeout: (t) => clearT(t),
    random: () => random(),
    now: () => now(),
  };
}

// The in-band control frames the client handles itself: a JSON text frame
// whose "type" is exactly "reauth" or "auth_ok". Anything else (binary, not
// JSON, another type) is the application's and is delivered untouched.
function controlFrame(data) {
  if (typeof data !== "string" || !(data.includes("reauth") || data.includes("auth_ok"))) return null;
  let msg;
  try {
    msg = JSON.parse(data);
  } catch {
    return null;
  }
  if (!msg || typeof msg !== "object" || Array.isArray(msg)) return null;
  return msg.type === "reauth" || msg.type === "auth_ok" ? msg : null;
}

// Retry-After in delta-seconds (an HTTP-date is ignored), in milliseconds.
function retryAfterMs(res) {
  let v = null;
  try {
    v = res.headers?.get?.("Retry-After") ?? null;
  } catch {
    return undefined;
  }
  if (typeof v !== "string" || !/^\s*\d+\s*$/.test(v)) return undefined;
  return Math.min(Number(v.trim()) * 1000, MAX_TIMER_MS);
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
