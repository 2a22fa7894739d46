package measure

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// gnet, the event-loop server Go users pick, is a peer of the kernel's
// echo servers: peers/gnet, a module of its own so that gnet never enters
// this module's dependencies, built here with the go command on first use
// (which needs the module proxy, or gnet in the module cache, once).

// gnetBinary builds peers/gnet once.
var gnetBinary = sync.OnceValues(func() (string, error) {
	dir, err := moduleRoot()
	if err != nil {
		return "", Unavailable("gnet peer: " + err.Error())
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", Unavailable("gnet peer: no go command to build peers/gnet")
	}
	tmp, err := os.MkdirTemp("", "corokernel-gnet")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(tmp, "gnet")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(dir, "peers", "gnet")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", Unavailable(fmt.Sprintf("gnet peer: go build in peers/gnet failed (no module proxy?): %v: %s", err, strings.TrimSpace(string(out))))
	}
	return bin, nil
})

// moduleRoot finds this module's directory, walking up from the working
// directory (the tests' package directory, or where corokernel runs).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/corokernel/corokernel\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the corokernel module's source")
		}
		dir = parent
	}
}

// GnetAvail says why the gnet peer cannot run here, or nil.
func GnetAvail() error {
	_, err := gnetBinary()
	return err
}

// StartGnet starts gnet's echo server with loops event loops, in a
// process of its own.
func StartGnet(loops int) (*Server, error) {
	bin, err := gnetBinary()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-loops", fmt.Sprint(loops))
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// gnet logs its own lines first.
	r := bufio.NewReader(out)
	var addr, line string
	for {
		line, err = r.ReadString('\n')
		if a, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on "); ok {
			addr = a
			break
		}
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("gnet peer: no address: last line %q, %v", line, err)
		}
	}
	go io.Copy(io.Discard, r)
	return &Server{Addr: addr, stop: func() error {
		in.Close()
		cmd.Wait()
		return nil
	}}, nil
}
