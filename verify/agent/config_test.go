package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigJSON(t *testing.T) {
	text := `{"hosts": [{"host": "ingress", "netns": "/run/netns/lc.lab.ingress", "listeners": [
		{"port": 80, "protocol": "http", "address": "10.0.0.5", "proxyTo": "10.244.1.2:8080"},
		{"port": 8080, "protocol": "http", "status": 503},
		{"port": 53, "protocol": "udp"}]}]}`
	path := filepath.Join(t.TempDir(), "agent.json")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Hosts: []Host{{Name: "ingress", NetNS: "/run/netns/lc.lab.ingress", Listeners: []Listener{
		{Port: 80, Protocol: HTTP, Address: "10.0.0.5", ProxyTo: "10.244.1.2:8080"},
		{Port: 8080, Protocol: HTTP, Status: 503},
		{Port: 53, Protocol: UDP},
	}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	data, _ := json.Marshal(want)
	var back Config
	json.Unmarshal(data, &back)
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("config after a JSON round trip (-want +got):\n%s", diff)
	}
}

func TestConfigProblemsAreAllReported(t *testing.T) {
	cfg := Config{Hosts: []Host{
		{Name: "", Listeners: []Listener{{Port: 80, Protocol: TCP}}},
		{Name: "web", Listeners: []Listener{
			{Port: 0, Protocol: TCP},
			{Port: 80, Protocol: "sctp"},
			{Port: 81, Protocol: TCP, ProxyTo: "1.2.3.4:80"},
			{Port: 82, Protocol: HTTP, ProxyTo: "somewhere"},
			{Port: 83, Protocol: HTTP, Status: 42},
			{Port: 84, Protocol: UDP, Address: "not-an-ip"},
		}},
		{Name: "web"},
	}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, want := range []string{"host #1: host name is empty", "port 0: port must be", `"sctp"`, "proxyTo is only for http",
		`proxyTo "somewhere"`, "status 42", `address "not-an-ip"`, "host web: listed twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if Serve(t.Context(), cfg, func() { t.Error("ready called for a broken config") }) == nil {
		t.Error("Serve accepted a broken config")
	}
}

func TestServeReportsEveryListenerItCannotOpen(t *testing.T) {
	taken1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken1.Close()
	taken2, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken2.Close()
	port1, port2, free := taken1.Addr().(*net.TCPAddr).Port, taken2.LocalAddr().(*net.UDPAddr).Port, freePort(t)
	cfg := Config{Hosts: []Host{
		{Name: "web-0", Listeners: []Listener{{Port: free, Protocol: TCP}, {Port: port1, Protocol: TCP, Address: "127.0.0.1"}}},
		{Name: "dns-0", Listeners: []Listener{{Port: port2, Protocol: UDP, Address: "127.0.0.1"}}},
		{Name: "gone", NetNS: filepath.Join(t.TempDir(), "no-such-netns"), Listeners: []Listener{{Port: 80, Protocol: TCP}}},
	}}
	err = Serve(t.Context(), cfg, func() { t.Error("ready called although listeners failed") })
	if err == nil {
		t.Fatal("Serve succeeded although listeners could not be opened")
	}
	for _, want := range []string{
		fmt.Sprintf("host web-0: tcp 127.0.0.1:%d: listen tcp 127.0.0.1:%d: bind: address already in use (another listener", port1, port1),
		fmt.Sprintf("host dns-0: udp 127.0.0.1:%d", port2),
		"host gone: open network namespace", "no-such-netns",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	// What did open was closed again.
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", free))
	if err != nil {
		t.Errorf("port %d still taken after the failed Serve: %v", free, err)
	} else {
		ln.Close()
	}
}

func TestMainSignalsReadyOverThePipe(t *testing.T) {
	port := freePort(t)
	path := filepath.Join(t.TempDir(), "agent.json")
	cfg := fmt.Sprintf(`{"hosts":[{"host":"web-0","listeners":[{"port":%d,"protocol":"tcp"}]}]}`, port)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	readEnd, fd := readyPipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Main(ctx, path, fd) }()

	readEnd.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(readEnd)
	if err != nil || string(got) != "\x01" {
		t.Fatalf("ready pipe gave %q, %v; want one byte then end of file", got, err)
	}
	if ans := mustAsk(t, Hop{Target: loopback(port), Protocol: TCP}, Request{}); ans.Host != "web-0" {
		t.Errorf("answer from %q, want web-0", ans.Host)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Main: %v", err)
	}
}

func TestMainClosesThePipeWhenItFails(t *testing.T) {
	readEnd, fd := readyPipe(t)
	err := Main(t.Context(), filepath.Join(t.TempDir(), "missing.json"), fd)
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("Main error %v, want one naming the missing config", err)
	}
	readEnd.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(readEnd); err != nil || len(got) != 0 {
		t.Errorf("ready pipe gave %q, %v; want end of file without a byte", got, err)
	}
}

// readyPipe returns the read end of a pipe and a file descriptor of the write
// end that the caller owns (as a child process owns an inherited one).
func readyPipe(t *testing.T) (*os.File, int) {
	readEnd, writeEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { readEnd.Close() })
	fd, err := syscall.Dup(int(writeEnd.Fd()))
	writeEnd.Close()
	if err != nil {
		t.Fatal(err)
	}
	syscall.CloseOnExec(fd)
	return readEnd, fd
}

func TestMainRejectsAReadyFDThatIsNotOpen(t *testing.T) {
	err := Main(t.Context(), "unused.json", 987654)
	if err == nil || !strings.Contains(err.Error(), "file descriptor 987654") {
		t.Errorf("Main error %v, want one naming the descriptor", err)
	}
}
