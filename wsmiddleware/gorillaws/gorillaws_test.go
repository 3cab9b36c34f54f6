package gorillaws_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/wsmiddleware/gorillaws"
)

// pair returns a connected server-side *gorillaws.Conn and its client.
func pair(t *testing.T) (*gorillaws.Conn, *websocket.Conn) {
	t.Helper()
	conns := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
		}
		conns <- c
	}))
	t.Cleanup(srv.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server := <-conns
	t.Cleanup(func() { server.Close() })
	return gorillaws.NewConn(server), client
}

func TestConnRead(t *testing.T) {
	t.Parallel()
	c, client := pair(t)
	client.WriteMessage(websocket.BinaryMessage, []byte("0123456789"))
	client.WriteMessage(websocket.TextMessage, []byte("hi"))

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	text, data, err := c.Read(ctx, 4)
	if err != nil || text || string(data) != "01234" {
		t.Errorf("Read(limit 4) = %v, %q, %v; want binary, the first 5 bytes", text, data, err)
	}
	// The rest of the long message is skipped; the deadline was cleared.
	text, data, err = c.Read(context.Background(), 4)
	if err != nil || !text || string(data) != "hi" {
		t.Errorf("Read = %v, %q, %v", text, data, err)
	}
}

func TestConnReadEndsWithContext(t *testing.T) {
	t.Parallel()
	c, _ := pair(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	if _, _, err := c.Read(ctx, 10); err == nil {
		t.Error("Read returned no error")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Read returned after %v", d)
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
	if err := c.Close(4401, "ticket rejected"); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if typ, msg, err := client.ReadMessage(); err != nil || typ != websocket.TextMessage || string(msg) != "hello" {
		t.Errorf("client read %d %q %v", typ, msg, err)
	}
	_, _, err := client.ReadMessage()
	if !websocket.IsCloseError(err, 4401) || !strings.Contains(err.Error(), "ticket rejected") {
		t.Errorf("client got %v, want close 4401", err)
	}
}
