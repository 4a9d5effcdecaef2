//go:build linux

package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/gen"
	"github.com/labctl/labctl/topo/rules"
)

// kubeGolden holds topo/kube's scenario payloads: complete node and load balancer
// rulesets covering every option that changes the rule text, kept equal to the
// generator by topo/kube's golden test.
const kubeGolden = "../../topo/kube/testdata/golden"

// TestKernelAcceptsGeneratedPayloads loads every payload the kube layer generates into
// a real kernel, in a namespace created for the test: iptables-restore --test checks
// it, iptables-restore loads it, and iptables-save must show as many rules. The
// payloads are topo/kube's scenarios and one node and the load balancer of a compiled
// 50-node, 1,000-Pod, 200-Service cluster (thousands of rules).
func TestKernelAcceptsGeneratedPayloads(t *testing.T) {
	nodetest.RequireRoot(t)
	r := Runner{Backend: NFT}
	if _, err := r.Tool("restore"); err != nil {
		t.Fatal(err)
	}
	type payload struct {
		name string
		text []byte
	}
	var all []payload
	files, err := filepath.Glob(filepath.Join(kubeGolden, "*.rules"))
	if err != nil || len(files) < 5 {
		t.Fatalf("scenario payloads in %s: %v %v", kubeGolden, files, err)
	}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, payload{strings.TrimSuffix(filepath.Base(f), ".rules"), text})
	}
	src, err := gen.Cluster(gen.ClusterOptions{Name: "kernel", Nodes: 50, Pods: 1000, Services: 200, LB: true})
	if err != nil {
		t.Fatal(err)
	}
	lab, err := topo.Parse("generated.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := topo.Compile(lab, topo.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"node-1", "lb"} {
		n := p.Namespace(host)
		if n == nil {
			t.Fatalf("the generated cluster has no host %s", host)
		}
		text, _ := n.Payload()
		all = append(all, payload{"generated-" + host, text})
	}

	for _, pl := range all {
		t.Run(pl.name, func(t *testing.T) {
			want, err := rules.ParseSave(pl.text)
			if err != nil {
				t.Fatalf("the payload does not parse: %v", err)
			}
			err = inScratchNetns(func() error {
				ctx := context.Background()
				if err := r.restore(ctx, "scratch", pl.text, "--test"); err != nil {
					return fmt.Errorf("iptables-restore --test: %w", err)
				}
				if err := r.restore(ctx, "scratch", pl.text); err != nil {
					return fmt.Errorf("iptables-restore: %w", err)
				}
				out, err := r.Save(ctx, "", false)
				if err != nil {
					return err
				}
				if got := bytes.Count(out, []byte("\n-A ")); got != want.RuleCount() {
					return fmt.Errorf("the kernel holds %d rules, the payload has %d:\n%s", got, want.RuleCount(), out)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// inScratchNetns runs fn on an OS thread moved into a new, empty network namespace;
// commands fn starts inherit it. It first checks that a child process really lands in
// another namespace than the test started in, and refuses to run fn otherwise. The
// thread is never unlocked: Go ends it with the goroutine, and the kernel then
// destroys the namespace with everything in it.
func inScratchNetns(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		original, err := os.Readlink("/proc/self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		child, err := exec.Command("readlink", "/proc/self/ns/net").Output()
		if err != nil {
			errc <- fmt.Errorf("readlink in the new namespace: %w", err)
			return
		}
		if got := strings.TrimSpace(string(child)); got == original || got == "" {
			errc <- errors.New("a child process is still in the original network namespace; not running iptables")
			return
		}
		errc <- fn()
	}()
	return <-errc
}
