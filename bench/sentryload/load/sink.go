package load

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// NullSink is an HTTP server that answers every POST with
// 200 {"id":"<event_id>"} at once, storing nothing: the envelope header's
// event_id is all it reads (for a gzip body, only the first bytes are
// inflated). Running the load against it measures the HTTP ceiling of the
// machine, the reference for a real server's rate.
type NullSink struct {
	srv      *fasthttp.Server
	ln       net.Listener
	done     chan error
	requests atomic.Int64
	zpool    sync.Pool
}

// StartNullSink listens on addr (e.g. "127.0.0.1:0") and serves until
// Close.
func StartNullSink(addr string) (*NullSink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &NullSink{ln: ln, done: make(chan error, 1)}
	s.srv = &fasthttp.Server{
		Handler:            s.handle,
		Name:               "nullsink",
		MaxRequestBodySize: 64 << 20,
		ReadBufferSize:     16 << 10,
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// URL returns the sink's base URL.
func (s *NullSink) URL() string { return "http://" + s.ln.Addr().String() }

// Requests returns the number of requests answered.
func (s *NullSink) Requests() int64 { return s.requests.Load() }

// Close stops the server, waiting at most 5 s for open connections.
func (s *NullSink) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.ShutdownWithContext(ctx)
	// Shutdown may run before Serve has registered the listener.
	s.ln.Close()
	<-s.done
	return err
}

var idKey = []byte(`"event_id":"`)

func (s *NullSink) handle(ctx *fasthttp.RequestCtx) {
	s.requests.Add(1)
	body := ctx.PostBody()
	if bytes.EqualFold(ctx.Request.Header.Peek("Content-Encoding"), []byte("gzip")) {
		body = s.head(body)
	}
	if nl := bytes.IndexByte(body, '\n'); nl >= 0 {
		body = body[:nl]
	}
	id := []byte("00000000000000000000000000000000")
	if k := bytes.Index(body, idKey); k >= 0 && len(body) >= k+len(idKey)+32 {
		id = body[k+len(idKey) : k+len(idKey)+32]
	}
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(fasthttp.StatusOK)
	w := ctx.Response.BodyWriter()
	io.WriteString(w, `{"id":"`)
	w.Write(id)
	io.WriteString(w, `"}`)
}

// head inflates the first bytes of a gzip body, enough for the envelope
// header.
func (s *NullSink) head(body []byte) []byte {
	zr, _ := s.zpool.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(body))
	} else {
		err = zr.Reset(bytes.NewReader(body))
	}
	if err != nil {
		return nil
	}
	defer s.zpool.Put(zr)
	buf := make([]byte, 1024)
	n, _ := io.ReadFull(zr, buf)
	return buf[:n]
}
