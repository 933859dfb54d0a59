package web

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atroz/collector"
)

func TestBodyLimitPerRoute(t *testing.T) {
	is := newIngestServer(t, Config{Development: true})
	f := func(method, path string, limit int64) {
		t.Helper()
		send := func(n int64) *httptest.ResponseRecorder {
			req := httptest.NewRequest(method, path, http.NoBody)
			req.ContentLength = n
			req.Header.Set("Authorization", "Bearer "+is.session)
			return serveRec(is.s, req)
		}
		if w := send(limit + 1); w.Code != http.StatusRequestEntityTooLarge || w.Header().Get("Connection") != "close" ||
			!strings.Contains(w.Body.String(), fmt.Sprintf("body exceeds %d bytes", limit)) {
			t.Errorf("%s %s of %d bytes: %d %q, Connection %q; want 413 and close", method, path, limit+1, w.Code, w.Body.String(), w.Header().Get("Connection"))
		}
		if w := send(limit); w.Code == http.StatusRequestEntityTooLarge {
			t.Errorf("%s %s of %d bytes, its limit: 413", method, path, limit)
		}
	}
	f("POST", "/api/v1/auth/login", maxSmallBodyBytes)
	f("POST", "/api/v1/auth/refresh", maxSmallBodyBytes)
	f("POST", "/api/v1/admin/tokens", maxAdminBodyBytes)
	f("DELETE", "/api/v1/admin/tokens/x", maxSmallBodyBytes)
	f("POST", "/api/v1/silences", maxAdminBodyBytes)
	f("POST", "/api/v1/beacons", collector.MaxBeaconBytes)
	f("POST", "/api/v1/ingest/requests", collector.MaxEventsBytes)
	f("POST", "/api/v1/import/prometheus", DefaultMaxImportBytes)
	f("POST", "/api/v1/write", DefaultMaxImportBytes)
	f("POST", "/api/v1/read", maxReadRequestBytes)
	f("POST", "/api/v1/query", maxQueryBodyBytes)
	f("GET", "/health", maxSmallBodyBytes)
	f("GET", "/no/such/page", maxSmallBodyBytes)
	f("POST", "/api/v1/auth/logout", maxSmallBodyBytes) // last: it may end the session
}

func TestBodyLimitChunked(t *testing.T) {
	is := newIngestServer(t, Config{Development: true, MaxImportBytes: maxBufferedBodyBytes + 1})
	f := func(path, token string, size int, want int) {
		t.Helper()
		// A reader of unknown length makes the request chunked.
		req := httptest.NewRequest("POST", path, io.MultiReader(strings.NewReader(strings.Repeat("a", size))))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+token)
		w := serveRec(is.s, req)
		if w.Code != want {
			t.Errorf("chunked %s of %d bytes: %d %s, want %d", path, size, w.Code, w.Body.String(), want)
		}
		if want == http.StatusRequestEntityTooLarge && w.Header().Get("Connection") != "close" {
			t.Errorf("chunked %s of %d bytes: Connection %q, want close", path, size, w.Header().Get("Connection"))
		}
	}
	// A small route reads the body whole, so even gin-jwt's binding answers 413.
	f("/api/v1/auth/login", "", maxSmallBodyBytes+1, http.StatusRequestEntityTooLarge)
	f("/api/v1/auth/login", "", maxSmallBodyBytes, http.StatusUnauthorized)
	// A large route caps the body as the handler reads it.
	f("/api/v1/import/prometheus", is.token, maxBufferedBodyBytes+2, http.StatusRequestEntityTooLarge)
	f("/api/v1/import/prometheus", is.token, maxBufferedBodyBytes+1, http.StatusBadRequest)
}

// rawRequest sends head (a request's line and headers) on a fresh
// connection to addr, no body, and returns the first response read and
// the connection's reader.
func rawRequest(t *testing.T, addr, head string) (*http.Response, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read the answer, the body unsent: %v", err)
	}
	return resp, br
}

// TestHugeLoginRefusedUnread: a 100 MiB login is refused with 413 before a
// byte of its body is sent, so the server cannot have read or held it, and
// the connection is closed rather than drained.
func TestHugeLoginRefusedUnread(t *testing.T) {
	ls := startLiveWith(t, Config{Development: true, Auth: testAuth}, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	addr := strings.TrimPrefix(ls.url, "http://")
	resp, br := rawRequest(t, addr, "POST /api/v1/auth/login HTTP/1.1\r\nHost: atroz\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Fatalf("100 MiB login: %d %s, close %v; want 413 and close", resp.StatusCode, body, resp.Close)
	}
	if n, err := br.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after the 413 the connection reads %d bytes, %v; want it closed", n, err)
	}
}

// TestBeaconExpectContinueRefused: a beacon too large, sent as curl sends
// it (Expect: 100-continue), gets 413 and never "100 Continue".
func TestBeaconExpectContinueRefused(t *testing.T) {
	ls := startLiveWith(t, Config{Development: true, Auth: testAuth}, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	addr := strings.TrimPrefix(ls.url, "http://")
	resp, _ := rawRequest(t, addr, "POST /api/v1/beacons HTTP/1.1\r\nHost: atroz\r\nOrigin: https://shop.example\r\nContent-Type: text/plain\r\nExpect: 100-continue\r\nContent-Length: 1200000\r\n\r\n")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close || !bytes.Contains(body, []byte("too_large")) {
		t.Fatalf("1.2 MB beacon with Expect: 100-continue: %d %s, close %v; want 413 first and close", resp.StatusCode, body, resp.Close)
	}
	// Within its limit the same request is told to continue.
	resp, _ = rawRequest(t, addr, "POST /api/v1/beacons HTTP/1.1\r\nHost: atroz\r\nOrigin: https://shop.example\r\nContent-Type: text/plain\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
	if resp.StatusCode != http.StatusContinue {
		t.Errorf("a 1,000-byte beacon with Expect: 100-continue: %d, want 100", resp.StatusCode)
	}
}

// TestContentLengthBesideChunkedCloses: a request framed by both
// Content-Length and Transfer-Encoding, a smuggling attempt, is answered
// and its connection closed, so nothing after it is read as another
// request; a request with Content-Length alone keeps its connection.
func TestContentLengthBesideChunkedCloses(t *testing.T) {
	ls := startLiveWith(t, Config{Development: true, Auth: testAuth}, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	addr := strings.TrimPrefix(ls.url, "http://")
	smuggled := "GET /health HTTP/1.1\r\nHost: atroz\r\n\r\n"
	resp, br := rawRequest(t, addr, "POST /api/v1/auth/logout HTTP/1.1\r\nHost: atroz\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+smuggled)
	_, _ = io.Copy(io.Discard, resp.Body)
	if !resp.Close {
		t.Errorf("Content-Length beside Transfer-Encoding: %d, Connection %q; want the connection closed", resp.StatusCode, resp.Header.Get("Connection"))
	}
	if next, err := http.ReadResponse(br, nil); err == nil {
		t.Errorf("the request after it was served: %d", next.StatusCode)
	}
	resp, _ = rawRequest(t, addr, "POST /api/v1/auth/logout HTTP/1.1\r\nHost: atroz\r\nContent-Length: 0\r\n\r\n")
	if resp.Close {
		t.Errorf("Content-Length alone: the connection is closed, want it kept")
	}
}
