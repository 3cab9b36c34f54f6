// Type declarations for wsticket.js (the wsticket browser client).

/** How the ticket travels to the WebSocket server. */
export type Transport = "query" | "subprotocol" | "cookie" | "first-message";

/** Synthetic close code of the "close" event after the ticket endpoint answered 401. */
export declare const CLOSE_UNAUTHENTICATED: 4401;

/** What went wrong: see WsTicketError.kind. */
export type WsTicketErrorKind =
  | "auth" // the ticket endpoint answered 401 (passed to onAuthError)
  | "refused" // the ticket endpoint answered another 4xx but 408/429 (e.g. 403: Origin not allowed); the client stops, close code 4000 + status
  | "ticket" // minting failed: network error, non-2xx answer, no ticket in the answer, getAuthHeader threw
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
  /** The WebSocket close code, for kind "closed". */
  readonly code?: number;
}

export interface ReconnectOptions {
  /** Base of the exponential backoff. Default 500. */
  initialDelayMs?: number;
  /** Cap of the backoff. Default 30000. */
  maxDelayMs?: number;
  /** Reconnect attempts allowed since the last successful open. Default Infinity. */
  maxAttempts?: number;
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
  /** The Authorization header value for minting, e.g. "Bearer <login JWT>"; null/undefined sends none. Called before every mint. */
  getAuthHeader?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Called once when the ticket endpoint answers 401; the client then stops and emits "close" with code 4401. */
  onAuthError?: (error: WsTicketError) => void;
  /** Default true (500 ms initial delay, 30 s cap, unlimited attempts). false: never reconnect. */
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
  /** 1 for the first reconnect attempt after a successful open (or after the first failure). */
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
