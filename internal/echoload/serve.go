package echoload

import (
	"net"
	"sync"
)

// Serve runs a goroutine-per-connection echo server on l: the baseline
// the kernel's servers are compared with, and the server the tests load.
// Each connection reads into a buffer of size bytes and writes back what
// it read, as the kernel's servers do (io.Copy would splice between the
// sockets instead). If reply is not nil it answers each read instead,
// given the bytes read and their offset in the connection's stream.
//
// Serve returns at once. stop closes l and every open connection and
// waits for the acceptor and the connections' goroutines to end.
func Serve(l net.Listener, size int, reply func(c net.Conn, b []byte, off int64) error) (stop func()) {
	if reply == nil {
		reply = func(c net.Conn, b []byte, _ int64) error { _, err := c.Write(b); return err }
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				buf := make([]byte, size)
				var off int64
				for {
					n, err := c.Read(buf)
					if err != nil || reply(c, buf[:n], off) != nil {
						return
					}
					off += int64(n)
				}
			})
		}
	})
	return func() {
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}
