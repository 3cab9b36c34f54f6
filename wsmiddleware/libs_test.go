package wsmiddleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
	"github.com/wsticket/wsticket/wsmiddleware/gorillaws"
)

// This file runs real WebSocket servers and clients of both libraries over
// loopback: the server side of each library behind the middleware, and
// each library's client.

const ioTimeout = 5 * time.Second

// lib is one WebSocket library.
type lib struct {
	name string
	// accept upgrades r, negotiating protocols (nil: the library's default)
	// and admitting origins.
	accept func(w http.ResponseWriter, r *http.Request, origins, protocols []string) (serverConn, error)
	// dial opens a client connection.
	dial func(ctx context.Context, s *httptest.Server, target string, d dialSpec) (*clientConn, *http.Response, error)
}

var libs = []lib{
	{name: "gorilla", accept: gorillaAccept, dial: gorillaDial},
	{name: "coder", accept: coderAccept, dial: coderDial},
}

// serverConn is a server-side connection of either library.
type serverConn interface {
	wsmiddleware.Conn
	protocol() string
	closeNow()
}

type gorillaServerConn struct {
	*gorillaws.Conn
	ws *websocket.Conn
}

func (c gorillaServerConn) protocol() string { return c.ws.Subprotocol() }
func (c gorillaServerConn) closeNow()        { c.ws.Close() }

func gorillaAccept(w http.ResponseWriter, r *http.Request, _, protocols []string) (serverConn, error) {
	// Require or RequireOrigin has checked the Origin exactly.
	up := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked, Subprotocols: protocols}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil, err
	}
	return gorillaServerConn{gorillaws.NewConn(ws), ws}, nil
}

type coderServerConn struct {
	*coderws.Conn
	ws *coder.Conn
}

func (c coderServerConn) protocol() string { return c.ws.Subprotocol() }
func (c coderServerConn) closeNow()        { c.ws.CloseNow() }

func coderAccept(w http.ResponseWriter, r *http.Request, origins, protocols []string) (serverConn, error) {
	ws, err := coder.Accept(w, r, &coder.AcceptOptions{OriginPatterns: origins, Subprotocols: protocols})
	if err != nil {
		return nil, err
	}
	return coderServerConn{coderws.NewConn(ws), ws}, nil
}

// dialSpec is what a client sends with its upgrade request.
type dialSpec struct {
	origin    string
	protocols []string
	cookies   []*http.Cookie // in a cookie jar for the server's URL
}

// clientConn is a client-side connection of either library.
type clientConn struct {
	protocol string // as the client library reports it
	send     func(ctx context.Context, msg string) error
	recv     func(ctx context.Context) (string, error)
	close    func() // normal closure
}

func (d dialSpec) header() http.Header {
	h := http.Header{}
	if d.origin != "" {
		h.Set("Origin", d.origin)
	}
	return h
}

// jar returns a cookie jar holding d.cookies, or nil.
func (d dialSpec) jar() http.CookieJar {
	if d.cookies == nil {
		return nil
	}
	return fixedJar(d.cookies)
}

// fixedJar sends its cookies with every request, as a browser sends an
// HttpOnly SameSite=Strict cookie to its own site.
type fixedJar []*http.Cookie

func (j fixedJar) SetCookies(*url.URL, []*http.Cookie) {}
func (j fixedJar) Cookies(*url.URL) []*http.Cookie     { return j }

func gorillaDial(ctx context.Context, _ *httptest.Server, target string, d dialSpec) (*clientConn, *http.Response, error) {
	dialer := websocket.Dialer{HandshakeTimeout: ioTimeout, Subprotocols: d.protocols, Jar: d.jar()}
	ws, resp, err := dialer.DialContext(ctx, target, d.header())
	if err != nil {
		return nil, resp, err
	}
	return &clientConn{
		protocol: ws.Subprotocol(),
		send: func(_ context.Context, msg string) error {
			return ws.WriteMessage(websocket.TextMessage, []byte(msg))
		},
		recv: func(_ context.Context) (string, error) {
			ws.SetReadDeadline(time.Now().Add(ioTimeout))
			_, b, err := ws.ReadMessage()
			return string(b), err
		},
		close: func() {
			ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			ws.Close()
		},
	}, resp, nil
}

func coderDial(ctx context.Context, s *httptest.Server, target string, d dialSpec) (*clientConn, *http.Response, error) {
	client := &http.Client{Transport: s.Client().Transport, Jar: d.jar()}
	ws, resp, err := coder.Dial(ctx, target, &coder.DialOptions{
		HTTPClient: client, HTTPHeader: d.header(), Subprotocols: d.protocols,
	})
	if err != nil {
		return nil, resp, err
	}
	return &clientConn{
		protocol: ws.Subprotocol(),
		send: func(ctx context.Context, msg string) error {
			return ws.Write(ctx, coder.MessageText, []byte(msg))
		},
		recv: func(ctx context.Context) (string, error) {
			_, b, err := ws.Read(ctx)
			return string(b), err
		},
		close: func() { ws.Close(coder.StatusNormalClosure, "") },
	}, resp, nil
}

// closeCode returns the close code in a read error of either library's
// client, or -1.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return int(coder.CloseStatus(err))
}

// libServer is a real server over loopback with one WebSocket route.
type libServer struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []*http.Request // requests the WebSocket handler saw
	errs    []error         // FirstMessage's errors
	handler sync.WaitGroup  // handlers still running (hijacked conns outlive Close)
}

func newLibServer(t *testing.T, route func(s *libServer) http.Handler) *libServer {
	t.Helper()
	s := &libServer{}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", route(s))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.Close()
		s.handler.Wait()
	})
	return s
}

func (s *libServer) wsURL(query string) string {
	u := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	if query != "" {
		u += "?" + query
	}
	return u
}

func (s *libServer) saw(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, r)
}

func (s *libServer) failed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *libServer) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.seen...)
}

func (s *libServer) handshakeErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// echo answers every text message with "<user>: <message>" until the
// client closes.
func echo(ctx context.Context, c serverConn, user string) {
	for {
		_, msg, err := c.Read(ctx, 1<<10)
		if err != nil {
			return
		}
		if err := c.WriteText(ctx, append([]byte(user+": "), msg...)); err != nil {
			return
		}
	}
}

// requireRoute serves l behind Require: it records the request, upgrades
// with protocols and echoes. The library admits opts.AllowedOrigins, or
// appOrigin when Require has no allowlist.
func requireRoute(t *testing.T, l lib, v wsmiddleware.Redeemer, opts *wsmiddleware.Options, protocols []string) func(*libServer) http.Handler {
	return func(s *libServer) http.Handler {
		return require(t, v, opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.handler.Add(1)
			defer s.handler.Done()
			s.saw(r)
			res, _ := wsmiddleware.FromContext(r.Context())
			origins := opts.AllowedOrigins
			if origins == nil {
				origins = []string{appOrigin}
			}
			c, err := l.accept(w, r, origins, protocols)
			if err != nil {
				t.Errorf("%s: accept: %v", l.name, err)
				return
			}
			defer c.closeNow()
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			echo(ctx, c, res.UserID)
		}))
	}
}

// firstMessageRoute serves l behind RequireOrigin: it upgrades, runs the
// first-message handshake and echoes.
func firstMessageRoute(t *testing.T, l lib, v wsmiddleware.Redeemer, opts *wsmiddleware.Options) func(*libServer) http.Handler {
	g := guard(t, v, opts)
	return func(s *libServer) http.Handler {
		return g.RequireOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.handler.Add(1)
			defer s.handler.Done()
			s.saw(r)
			c, err := l.accept(w, r, opts.AllowedOrigins, nil)
			if err != nil {
				s.failed(err)
				return
			}
			defer c.closeNow()
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			sess, err := g.FirstMessage(ctx, c, r)
			if err != nil {
				s.failed(err)
				return
			}
			defer sess.End()
			echo(ctx, c, sess.Result().UserID)
		}))
	}
}

// roundTrip sends msg and returns the answer.
func roundTrip(t *testing.T, c *clientConn, msg string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
	defer cancel()
	if err := c.send(ctx, msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	got, err := c.recv(ctx)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return got
}

// failingRedeemer is a store that is down.
type failingRedeemer struct{}

func (failingRedeemer) Redeem(context.Context, verifier.Request) (*verifier.Result, error) {
	return nil, verifier.ErrUnavailable
}
