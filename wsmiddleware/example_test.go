package wsmiddleware_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
	"github.com/wsticket/wsticket/wsmiddleware/gorillaws"
)

// A handler behind Require reads who was admitted with FromContext. The
// first request with a ticket is admitted, the replay is refused.
func ExampleGuard_Require() {
	// ticketd's side, embedded here: a store and a service that mints.
	store := memstore.New(nil)
	defer store.Close()
	svc, err := issuer.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	minted, err := svc.Mint(context.Background(), issuer.MintRequest{
		UserID:   "alice",
		ClientIP: netip.MustParseAddr("192.0.2.1"), // the client's address
		Audience: "chat",
	})
	if err != nil {
		log.Fatal(err)
	}

	// The WebSocket server's side. svc redeems in process here; a server
	// elsewhere would use verifier.NewRedis or clientlib.
	chat := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ := wsmiddleware.FromContext(r.Context())
		fmt.Printf("welcome %s, query %q\n", res.UserID, r.URL.RawQuery)
		// Upgrade here.
	})
	g, err := wsmiddleware.New(svc, &wsmiddleware.Options{Audience: "chat"})
	if err != nil {
		log.Fatal(err) // a bad configuration
	}
	h := g.Require(chat)

	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/ws?room=7&ticket="+minted.Ticket, nil))
		fmt.Println(rec.Code)
	}
	// Output:
	// welcome alice, query "room=7"
	// 200
	// 401
}

// OnReject sees every refusal with its reason, never the ticket.
func ExampleOptions_onReject() {
	store := memstore.New(nil)
	defer store.Close()
	svc, err := issuer.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	g, err := wsmiddleware.New(svc, &wsmiddleware.Options{
		OnReject: func(r *http.Request, err error) {
			fmt.Printf("refused %s: %s\n", r.URL, wsmiddleware.Reason(err))
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	h := g.Require(http.NotFoundHandler())

	for _, target := range []string{"/ws", "/ws?ticket=wst_nope", "/ws?ticket=a&ticket=b"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// refused /ws: no_ticket
	// 401 {"error":{"code":"ticket_required","message":"a ticket is required"}}
	//
	// refused /ws: malformed
	// 401 {"error":{"code":"ticket_rejected","message":"ticket rejected"}}
	//
	// refused /ws: duplicate_ticket
	// 401 {"error":{"code":"ticket_rejected","message":"ticket rejected"}}
}

// With github.com/gorilla/websocket: a server that redeems straight from
// ticketd's Redis, for pages on https://app.example.com. The Upgrader
// accepts the Origin of what Require admitted, and negotiates the
// application's protocol or else the companion "wsticket" for clients that
// send their ticket in Sec-WebSocket-Protocol.
func ExampleGuard_Require_gorilla() {
	v := verifier.New(redisstore.New(redis.NewClient(&redis.Options{Addr: "localhost:6379"}), nil), nil)
	upgrader := websocket.Upgrader{
		CheckOrigin: wsmiddleware.OriginChecked,
		// Not a Sec-WebSocket-Protocol in Upgrade's response header:
		// gorilla ignores it when Subprotocols is set (gorilla/websocket#404).
		Subprotocols: wsmiddleware.Subprotocols("chat.v1"),
	}
	g, err := wsmiddleware.New(v, &wsmiddleware.Options{
		Audience:       "chat",
		AllowedOrigins: []string{"https://app.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	chat := func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered the request
		}
		defer conn.Close()
		// The Session re-authenticates the socket in band and closes it
		// at the login's expiry (4440) or on revocation (1008).
		s, err := gorillaws.Serve(r, conn)
		if err != nil {
			return
		}
		for {
			typ, msg, err := s.ReadMessage() // never an auth frame
			if err != nil {
				return
			}
			s.WriteMessage(typ, append([]byte(s.Result().UserID+": "), msg...))
		}
	}

	mux := http.NewServeMux()
	mux.Handle("GET /ws", g.Require(http.HandlerFunc(chat)))
	srv := &http.Server{Addr: ":8080", Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// With github.com/coder/websocket: Accept's OriginPatterns get the same
// exact origins as Require. Patterns containing "://" are matched against
// the Origin's scheme://host, so an exact origin matches only itself.
// Accept negotiates only the protocols in Subprotocols
// (coder/websocket#296), so the companion "wsticket" must be listed.
func ExampleGuard_Require_coder() {
	origins := []string{"https://app.example.com"}
	v := verifier.New(redisstore.New(redis.NewClient(&redis.Options{Addr: "localhost:6379"}), nil), nil)
	g, err := wsmiddleware.New(v, &wsmiddleware.Options{
		Audience:       "chat",
		AllowedOrigins: origins,
		// Behind a load balancer on 10.0.0.0/8, believe its X-Forwarded-For.
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	if err != nil {
		log.Fatal(err)
	}
	chat := func(w http.ResponseWriter, r *http.Request) {
		conn, err := coder.Accept(w, r, &coder.AcceptOptions{
			OriginPatterns: origins,
			Subprotocols:   wsmiddleware.Subprotocols(),
		})
		if err != nil {
			return // Accept has answered the request
		}
		defer conn.CloseNow()
		s, err := coderws.Serve(r, conn)
		if err != nil {
			return
		}
		// Not r.Context() itself: coder/websocket would drop the
		// connection without a close frame when it ends; the Session's
		// close (4440, 1008, 1012) ends the reads instead.
		ctx := context.WithoutCancel(s.Context())
		for {
			typ, msg, err := s.Read(ctx) // never an auth frame
			if err != nil {
				return
			}
			s.Write(ctx, typ, msg)
		}
	}

	mux := http.NewServeMux()
	mux.Handle("GET /ws", g.Require(http.HandlerFunc(chat)))
	srv := &http.Server{Addr: ":8080", Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// The protocols to give a WebSocket library behind Require: the
// application's, then the companion the server echoes when the client
// speaks none of them.
func ExampleSubprotocols() {
	fmt.Println(wsmiddleware.Subprotocols())
	fmt.Println(wsmiddleware.Subprotocols("chat.v2", "chat.v1"))
	// Output:
	// [wsticket]
	// [chat.v2 chat.v1 wsticket]
}

// A deployment that keeps tickets out of URLs (and so out of access logs)
// reads only the subprotocol and the cookie. The next handler sees the
// offered protocols without the secret entry.
func ExampleOptions_transports() {
	store := memstore.New(nil)
	defer store.Close()
	svc, err := issuer.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	g, err := wsmiddleware.New(svc, &wsmiddleware.Options{
		Transports: wsmiddleware.TransportSubprotocol | wsmiddleware.TransportCookie,
		OnReject: func(r *http.Request, err error) {
			fmt.Println("refused:", wsmiddleware.Reason(err))
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	h := g.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("admitted, offered %q\n", r.Header.Get("Sec-WebSocket-Protocol"))
	}))
	mint := func() string {
		m, err := svc.Mint(context.Background(), issuer.MintRequest{UserID: "alice", ClientIP: netip.MustParseAddr("192.0.2.1")})
		if err != nil {
			log.Fatal(err)
		}
		return m.Ticket
	}

	// In the query: treated as absent.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/ws?ticket="+mint(), nil))

	// In Sec-WebSocket-Protocol, as new WebSocket(url, ["chat.v1",
	// "wsticket", "wsticket." + ticket]) sends it.
	r := httptest.NewRequest("GET", "/ws", nil)
	r.Header.Set("Sec-WebSocket-Protocol", "chat.v1, wsticket, wsticket."+mint())
	h.ServeHTTP(httptest.NewRecorder(), r)

	// The secret entry without the companion: no browser could complete
	// this upgrade, so it is refused before anything is redeemed.
	r = httptest.NewRequest("GET", "/ws", nil)
	r.Header.Set("Sec-WebSocket-Protocol", "wsticket."+mint())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code)
	// Output:
	// refused: no_ticket
	// admitted, offered "chat.v1, wsticket"
	// refused: no_companion
	// 400
}
