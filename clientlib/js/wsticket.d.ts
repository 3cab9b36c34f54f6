// Type declarations for wsticket.js (the wsticket browser client).

/** How the ticket travels to the WebSocket server. */
export type Transport = "query" | "subprotocol" | "cookie" | "first-message";

/**
 * 4401: the synthetic close code of the "close" event after the ticket endpoint answered 401; also the
 * server's code for a rejected ticket (first-message, before auth_ok: a failed attempt, retried with a new
 * ticket) and for a rejected re-authentication (on an open connection: the client stops, onAuthError).
 */
export declare const CLOSE_UNAUTHENTICATED: 4401;
/** 1008 with reason "revoked": the user or session was revoked. The client stops and calls onAuthError. */
export declare const CLOSE_REVOKED: 1008;
/**
 * 4440 "session expired": the login behind the connection expired. The client renews once: it mints at
 * once (getAuthHeader asked again) and reconnects; a 401 stops it (onAuthError), and so does a second 4440
 * before the renewed connection was stable or answered a reauth with auth_ok.
 */
export declare const CLOSE_SESSION_EXPIRED: 4440;
/** 1012 (service restart): the client reconnects after at least reconnect.serviceRestartFloorMs, plus jitter. */
export declare const CLOSE_SERVICE_RESTART: 1012;
/** 1013 (try again later): the client reconnects after at least reconnect.tryAgainLaterFloorMs, plus jitter. */
export declare const CLOSE_TRY_AGAIN_LATER: 1013;

/** What went wrong: see WsTicketError.kind. */
export type WsTicketErrorKind =
  | "auth" // the ticket endpoint answered 401, on a connect or a re-authentication (passed to onAuthError)
  | "revoked" // the server closed with 1008 "revoked" (passed to onAuthError; code 1008)
  | "rejected" // the server closed an open connection with 4401: re-authentication rejected (passed to onAuthError)
  | "expired" // the server closed with 4440 again right after the one renewal (passed to onAuthError)
  | "refused" // the ticket endpoint answered another 4xx but 408/429 (e.g. 403: Origin not allowed); the client stops, close code 4000 + status
  | "ticket" // minting failed (for a connect or a reauth): network error, non-2xx answer, no ticket in the answer, getAuthHeader threw
  | "socket" // the WebSocket reported an error or could not be created
  | "closed" // the WebSocket closed before it opened (code holds the close code, e.g. 4401, 4408, 1006)
  | "timeout" // first-message: no {"type":"auth_ok"} within firstMessageTimeoutMs
  | "protocol" // subprotocol: the server echoed the secret entry; the client refused the connection
  | "state"; // send() while the socket is not open

/** The error of "error" events and onAuthError. Its message never contains a ticket or a credential. */
export declare class WsTicketError extends Error {
  readonly name: "WsTicketError";
  readonly kind: WsTicketErrorKind;
  /** The ticket endpoint's HTTP status, when it answered. */
  readonly status?: number;
  /** The WebSocket close code, for kinds "closed", "revoked", "rejected" and "expired". */
  readonly code?: number;
  /** Kind "ticket" after a non-2xx answer with Retry-After (delta-seconds): the wait it asked for, in ms. */
  readonly retryAfterMs?: number;
}

export interface ReconnectOptions {
  /** Base of the exponential backoff. Default 500. */
  initialDelayMs?: number;
  /** Cap of the backoff. Default 30000. */
  maxDelayMs?: number;
  /** Reconnect attempts allowed since the last stable connection. Default Infinity. */
  maxAttempts?: number;
  /**
   * A connection resets the backoff (attempt 1 again) only once it has stayed open this long; one the
   * server closes sooner keeps the backoff growing. Default 5000.
   */
  stableAfterMs?: number;
  /** Minimum delay after a 1012 (service restart) close; jitter is added on top. Default 1000. */
  serviceRestartFloorMs?: number;
  /** Minimum delay after a 1013 (try again later) close; jitter is added on top. Default 2000. */
  tryAgainLaterFloorMs?: number;
}

/** The subset of the WebSocket interface the client uses. */
export interface WebSocketLike {
  readonly protocol: string;
  binaryType: string;
  send(data: any): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => any) | null;
  onmessage: ((event: any) => any) | null;
  onerror: ((event: any) => any) | null;
  onclose: ((event: any) => any) | null;
}

/** The subset of a fetch Response the client uses. */
export interface ResponseLike {
  readonly status: number;
  readonly ok: boolean;
  /** Read for Retry-After on a non-2xx answer. Optional. */
  readonly headers?: { get(name: string): string | null };
  json(): Promise<any>;
}

export interface ConnectOptions {
  /** ticketd's mint endpoint, e.g. "https://app.example.com/v1/tickets". Required. */
  ticketUrl: string;
  /** The WebSocket URL, ws:// or wss://, without a ticket. Required. */
  url: string;
  /** Sent as {"audience": ...} when minting. Default: omitted. */
  audience?: string;
  /** Default "query". */
  transport?: Transport;
  /** Application subprotocols. Default []. Must not contain "wsticket" or "wsticket.*". */
  protocols?: string[];
  /**
   * The Authorization header value for minting, e.g. "Bearer <login JWT>"; null/undefined sends none.
   * Called before every mint: every connect, every reconnect and every answer to the server's reauth.
   */
  getAuthHeader?: () => string | null | undefined | Promise<string | null | undefined>;
  /**
   * Called once when authentication ends the client, which then stops and emits "close": the ticket endpoint
   * answered 401 (kind "auth", close 4401), the server closed with 1008 "revoked" (kind "revoked"), closed an
   * open connection with 4401 (kind "rejected"), or closed with 4440 again right after renewing (kind "expired").
   */
  onAuthError?: (error: WsTicketError) => void;
  /**
   * Default true (500 ms initial delay, 30 s cap, unlimited attempts, stable after 5 s, floors 1 s after
   * 1012 and 2 s after 1013). false: never reconnect, and never renew an expired session.
   */
  reconnect?: boolean | ReconnectOptions;
  /** Query transport's parameter name. Default "ticket". */
  queryParam?: string;
  /** First-message transport: how long to wait for {"type":"auth_ok"}. Default 5000. */
  firstMessageTimeoutMs?: number;
  /** Default globalThis.WebSocket. */
  WebSocket?: new (url: string, protocols?: string | string[]) => WebSocketLike;
  /** Default globalThis.fetch. */
  fetch?(input: string, init?: any): Promise<ResponseLike>;
  /** Returns a number in [0, 1) for the backoff jitter. Default Math.random. For tests. */
  random?: () => number;
  /** Default globalThis.setTimeout. For tests. */
  setTimeout?: (callback: () => void, ms: number) => any;
  /** Default globalThis.clearTimeout. For tests. */
  clearTimeout?: (handle: any) => void;
  /** A monotonic clock in ms, for stableAfterMs. Default performance.now (or Date.now). For tests. */
  now?: () => number;
}

export interface TicketSocketEvent {
  readonly type: string;
  readonly target: TicketSocket;
}
export interface OpenEvent extends TicketSocketEvent {
  readonly type: "open";
}
export interface MessageEventLike extends TicketSocketEvent {
  readonly type: "message";
  readonly data: any;
}
export interface ErrorEventLike extends TicketSocketEvent {
  readonly type: "error";
  readonly error: WsTicketError;
}
export interface ReconnectingEvent extends TicketSocketEvent {
  readonly type: "reconnecting";
  /** 1 for the first reconnect attempt after a stable connection (or after the first failure). */
  readonly attempt: number;
  /** How long the client waits before minting a new ticket and connecting again. */
  readonly delayMs: number;
}
export interface CloseEventLike extends TicketSocketEvent {
  readonly type: "close";
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

export interface TicketSocketEventMap {
  open: OpenEvent;
  message: MessageEventLike;
  error: ErrorEventLike;
  reconnecting: ReconnectingEvent;
  close: CloseEventLike;
}

/** A WebSocket-like object that reconnects with fresh tickets. */
export interface TicketSocket {
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  /** 0 connecting (also while waiting to reconnect), 1 open, 2 closing (after close()), 3 closed (final). */
  readonly readyState: 0 | 1 | 2 | 3;
  /** The negotiated subprotocol of the current connection ("" if none); never the secret entry. */
  readonly protocol: string;
  /** The configured URL, without any ticket. */
  readonly url: string;
  /** Applied to every underlying socket. Default "blob". */
  binaryType: "blob" | "arraybuffer";
  addEventListener<K extends keyof TicketSocketEventMap>(
    type: K,
    listener: (this: TicketSocket, event: TicketSocketEventMap[K]) => void,
  ): void;
  removeEventListener<K extends keyof TicketSocketEventMap>(
    type: K,
    listener: (this: TicketSocket, event: TicketSocketEventMap[K]) => void,
  ): void;
  /** Sends on the current connection; throws a WsTicketError (kind "state") unless readyState is 1. */
  send(data: string | ArrayBufferLike | ArrayBufferView | { readonly size: number; readonly type: string }): void;
  /** Closes for good: no reconnect. code is 1000 or 3000-4999 (else RangeError). */
  close(code?: number, reason?: string): void;
}

/**
 * Connects to a WebSocket endpoint protected by wsticket, minting a fresh
 * single-use ticket before every connect and every reconnect.
 */
export declare function connect(options: ConnectOptions): TicketSocket;
