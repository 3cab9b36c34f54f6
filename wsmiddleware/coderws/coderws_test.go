package coderws_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/wsmiddleware/coderws"
)

// pair returns a connected server-side *coderws.Conn and its client.
func pair(t *testing.T) (*coderws.Conn, *websocket.Conn) {
	t.Helper()
	conns := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
		}
		conns <- c
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	client, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.CloseNow() })
	server := <-conns
	t.Cleanup(func() { server.CloseNow() })
	return coderws.NewConn(server), client
}

func TestConnRead(t *testing.T) {
	t.Parallel()
	c, client := pair(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	client.Write(ctx, websocket.MessageBinary, []byte("0123456789"))

	text, data, err := c.Read(ctx, 4)
	if err != nil || text || string(data) != "01234" {
		t.Errorf("Read(limit 4) = %v, %q, %v; want binary, the first 5 bytes", text, data, err)
	}
}

func TestConnWriteAndClose(t *testing.T) {
	t.Parallel()
	c, client := pair(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.WriteText(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if typ, msg, err := client.Read(ctx); err != nil || typ != websocket.MessageText || string(msg) != "hello" {
		t.Errorf("client read %v %q %v", typ, msg, err)
	}
	// The client reads, so it answers the close handshake.
	got := make(chan error, 1)
	go func() {
		_, _, err := client.Read(ctx)
		got <- err
	}()
	if err := c.Close(4408, "auth timeout"); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-got; websocket.CloseStatus(err) != 4408 {
		t.Errorf("client got %v, want close 4408", err)
	}
}
