package coderws_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
)

// A server that accepts first: RequireOrigin refuses foreign pages before
// the upgrade, FirstMessage authenticates the socket, and the handler then
// echoes. The client sends its ticket as the first frame.
func ExampleFirstMessage() {
	// ticketd's side, embedded here.
	store := memstore.New(nil)
	defer store.Close()
	origins := []string{"https://app.example.com"}
	svc, err := issuer.New(store, &issuer.Options{AllowedOrigins: origins})
	if err != nil {
		log.Fatal(err)
	}

	// The WebSocket server.
	g, err := wsmiddleware.New(svc, &wsmiddleware.Options{Audience: "chat", AllowedOrigins: origins})
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	chat := func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: origins})
		if err != nil {
			return
		}
		defer conn.CloseNow()
		// A context that outlives the handshake's 5 s deadline.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := coderws.FirstMessage(ctx, g, conn, r)
		if err != nil {
			fmt.Println("refused:", wsmiddleware.Reason(err))
			return
		}
		defer s.End()
		// Read through the Session: it answers re-authentication frames
		// itself, and closes the socket at the login's expiry.
		_, msg, err := s.Read(ctx)
		if err != nil {
			return
		}
		s.Write(ctx, websocket.MessageText, []byte(s.Result().UserID+": "+string(msg)))
		s.Read(ctx) // until the client closes
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", g.RequireOrigin(http.HandlerFunc(chat)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The page: get a ticket, open the socket, send it first.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := svc.Mint(ctx, issuer.MintRequest{
		UserID: "alice", ClientIP: netip.MustParseAddr("127.0.0.1"),
		Origin: "https://app.example.com", Audience: "chat",
	})
	if err != nil {
		log.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"https://app.example.com"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	conn.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","ticket":"`+m.Ticket+`"}`))
	_, answer, _ := conn.Read(ctx)
	fmt.Println(string(answer))
	conn.Write(ctx, websocket.MessageText, []byte("hello"))
	_, echo, _ := conn.Read(ctx)
	fmt.Println(string(echo))
	conn.Close(websocket.StatusNormalClosure, "")
	<-done
	// Output:
	// {"type":"auth_ok"}
	// alice: hello
}
