package gorillaws_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/gorillaws"
)

// A server that upgrades first: RequireOrigin refuses foreign pages before
// the upgrade, FirstMessage authenticates the socket, and the handler then
// echoes. The client sends its ticket as the first frame.
func ExampleFirstMessage() {
	// ticketd's side, embedded here.
	store := memstore.New(nil)
	defer store.Close()
	svc, err := issuer.New(store, &issuer.Options{AllowedOrigins: []string{"https://app.example.com"}})
	if err != nil {
		log.Fatal(err)
	}

	// The WebSocket server.
	g, err := wsmiddleware.New(svc, &wsmiddleware.Options{
		Audience:       "chat",
		AllowedOrigins: []string{"https://app.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	upgrader := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked}
	done := make(chan struct{})
	chat := func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		s, err := gorillaws.FirstMessage(r.Context(), g, conn, r)
		if err != nil {
			fmt.Println("refused:", wsmiddleware.Reason(err))
			return
		}
		defer s.End()
		// Read and write through the Session: it answers re-authentication
		// frames itself, and closes the socket at the login's expiry.
		_, msg, err := s.ReadMessage()
		if err != nil {
			return
		}
		s.WriteMessage(websocket.TextMessage, []byte(s.Result().UserID+": "+string(msg)))
		s.ReadMessage() // until the client closes
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", g.RequireOrigin(http.HandlerFunc(chat)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The page: get a ticket, open the socket, send it first.
	m, err := svc.Mint(context.Background(), issuer.MintRequest{
		UserID: "alice", ClientIP: netip.MustParseAddr("127.0.0.1"),
		Origin: "https://app.example.com", Audience: "chat",
	})
	if err != nil {
		log.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	conn, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://app.example.com"}})
	if err != nil {
		log.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"auth","ticket":"`+m.Ticket+`"}`))
	_, answer, _ := conn.ReadMessage()
	fmt.Println(string(answer))
	conn.WriteMessage(websocket.TextMessage, []byte("hello"))
	_, echo, _ := conn.ReadMessage()
	fmt.Println(string(echo))
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	conn.Close()
	<-done
	// Output:
	// {"type":"auth_ok"}
	// alice: hello
}
