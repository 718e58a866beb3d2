package main

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"storj.io/drpc"
	"storj.io/drpc/drpcconn"
	"storj.io/drpc/drpcmanager"
	"storj.io/drpc/drpcserver"
	"storj.io/drpc/drpcwire"
)

// bytesEncoding carries *[]byte messages as they are.
type bytesEncoding struct{}

func (bytesEncoding) Marshal(msg drpc.Message) ([]byte, error) { return *msg.(*[]byte), nil }
func (bytesEncoding) Unmarshal(buf []byte, msg drpc.Message) error {
	*msg.(*[]byte) = append([]byte(nil), buf...)
	return nil
}

// echoServer answers "/echo" with the request and holds "/block" until it is cancelled.
type echoServer struct{}

func (echoServer) HandleRPC(stream drpc.Stream, rpc string) error {
	var in []byte
	if err := stream.MsgRecv(&in, bytesEncoding{}); err != nil {
		return err
	}
	if rpc == "/block" {
		<-stream.Context().Done()
		return stream.Context().Err()
	}
	return stream.MsgSend(&in, bytesEncoding{})
}

// serve starts a drpc server on loopback; dial opens a client transport to it.
func serve(t *testing.T) (dial func() net.Conn) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = drpcserver.New(echoServer{}).Serve(ctx, lis)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func() net.Conn {
		conn, err := net.Dial("tcp", lis.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
}

// storj's dialer options: soft cancel on.
var softCancel = drpcconn.Options{Manager: drpcmanager.Options{SoftCancel: true}}

// echo calls "/echo" within 5 s (a wedged connection fails, not hangs, the test).
func echo(ctx context.Context, conn drpc.Conn, msg string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	in, out := []byte(msg), []byte(nil)
	if err := conn.Invoke(ctx, "/echo", bytesEncoding{}, &in, &out); err != nil {
		return err
	}
	if string(out) != msg {
		return errors.New("wrong answer: " + string(out))
	}
	return nil
}

// The server's flaw the wrapper avoids: a soft cancel of a stream whose invoke never
// went out leaves the connection unanswered for good.
func TestASoftCancelBeforeTheInvokeWedgesTheServersConnection(t *testing.T) {
	transport := serve(t)()
	man := drpcmanager.NewWithOptions(transport, softCancel.Manager)
	defer func() { _ = man.Close() }()

	ctx, cancel := context.WithCancel(context.Background())
	stream, err := man.NewClientStream(ctx, "/echo")
	if err != nil {
		t.Fatal(err)
	}
	cancel() // before any invoke: the manager soft-cancels (a cancel frame)
	<-stream.Context().Done()

	next, err := man.NewClientStream(context.Background(), "/echo")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("hello")
	if err := next.RawWrite(drpcwire.KindInvoke, []byte("/echo")); err != nil {
		t.Fatal(err)
	}
	if err := next.MsgSend(&msg, bytesEncoding{}); err != nil {
		t.Fatal(err)
	}
	if err := next.CloseSend(); err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() {
		var out []byte
		answered <- next.MsgRecv(&out, bytesEncoding{})
	}()
	select {
	case err := <-answered:
		// drpc v1.0.0 here; the satellites and nodes of storj v1.162.3 run v0.0.35.
		t.Fatalf("the server answered (%v): drpc fixed its flaw; once the satellites run the fix, hardCancelConn may go", err)
	case <-time.After(2 * time.Second): // wedged, as the satellite's connections were
	}
}

// Through hardCancelConn a cancelled call closes its connection: no cancel frame.
func TestACancelledInvokeClosesItsConnection(t *testing.T) {
	dial := serve(t)
	conn := hardCancelConn{drpcconn.NewWithOptions(dial(), softCancel)}
	if err := echo(context.Background(), conn, "first"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	in, out := []byte("x"), []byte(nil)
	err := conn.Invoke(ctx, "/block", bytesEncoding{}, &in, &out)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the call's own end (deadline exceeded)", err)
	}
	select {
	case <-conn.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection stayed open: drpc soft-cancelled")
	}
	if err := conn.Invoke(ctx, "/echo", bytesEncoding{}, &in, &out); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call on an ended context: got %v", err)
	}
}

// Without the wrapper (the control): the same call soft-cancels, the connection stays.
func TestWithoutTheWrapperACancelledInvokeKeepsItsConnection(t *testing.T) {
	conn := drpcconn.NewWithOptions(serve(t)(), softCancel)
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	in, out := []byte("x"), []byte(nil)
	if err := conn.Invoke(ctx, "/block", bytesEncoding{}, &in, &out); err == nil {
		t.Fatal("the blocked call returned no error")
	}
	select {
	case <-conn.Closed():
		t.Fatal("closed: drpc no longer soft-cancels; see hardCancelConn")
	case <-time.After(200 * time.Millisecond):
	}
	if err := echo(context.Background(), conn, "after"); err != nil {
		t.Fatal(err)
	}
}

// A stream opened through the wrapper is soft-cancelled once open: its connection
// stays and serves the next call.
func TestAnOpenStreamIsSoftCancelled(t *testing.T) {
	conn := hardCancelConn{drpcconn.NewWithOptions(serve(t)(), softCancel)}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := conn.NewStream(ctx, "/block", bytesEncoding{})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("x")
	if err := stream.MsgSend(&msg, bytesEncoding{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-stream.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the cancellation did not reach the stream")
	}
	select {
	case <-conn.Closed():
		t.Fatal("the connection was closed for an open stream's cancellation")
	case <-time.After(200 * time.Millisecond):
	}
	if err := echo(context.Background(), conn, "after"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.NewStream(ctx, "/block", bytesEncoding{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("a stream on an ended context: got %v", err)
	}
}

// errCtx ends with err when its parent ends, as uplink's own contexts do (a node's
// message timeout is such an error).
type errCtx struct {
	context.Context
	err error
}

func (c errCtx) Err() error {
	if c.Context.Err() != nil {
		return c.err
	}
	return nil
}

// An open stream ends with its caller's context's error, not a generic cancellation.
func TestAStreamEndsWithItsCallersError(t *testing.T) {
	conn := hardCancelConn{drpcconn.NewWithOptions(serve(t)(), softCancel)}
	defer func() { _ = conn.Close() }()
	errTimeout := errors.New("message timeout")
	parent, cancel := context.WithCancel(context.Background())
	stream, err := conn.NewStream(errCtx{parent, errTimeout}, "/block", bytesEncoding{})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("x")
	if err := stream.MsgSend(&msg, bytesEncoding{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	var out []byte
	if err := stream.MsgRecv(&out, bytesEncoding{}); !errors.Is(err, errTimeout) {
		t.Fatalf("got %v, want the caller's %v", err, errTimeout)
	}
}
