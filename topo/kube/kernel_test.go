//go:build linux

package kube

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKernelAcceptsPayloads loads every scenario's payload into a real kernel: inside a
// network namespace created for the test, iptables-nft-restore first checks it
// (--test), then loads it, and iptables-nft-save must show every rule. Nothing runs in
// the root namespace: the namespace belongs to one locked OS thread that is never
// unlocked, so the runtime ends the thread when the test goroutine returns and the
// kernel then destroys the namespace with everything in it.
func TestKernelAcceptsPayloads(t *testing.T) {
	requireRoot(t)
	restore, err := exec.LookPath("iptables-nft-restore")
	if err != nil {
		t.Fatalf("iptables-nft-restore not installed: %v", err)
	}
	save, err := exec.LookPath("iptables-nft-save")
	if err != nil {
		t.Fatalf("iptables-nft-save not installed: %v", err)
	}
	all := scenarios(t)
	// One node and the load balancer of the generated 50-node cluster: thousands of rules.
	services, pods, nodes := generatedCluster()
	generated, err := generateCluster(services, pods, nodes)
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, scenario{"generated-" + nodes[0].Name, generated[0]}, scenario{"generated-loadbalancer", generated[len(generated)-1]})
	for _, sc := range all {
		t.Run(sc.name, func(t *testing.T) {
			payload, _ := sc.rs.Render()
			err := inThrowawayNetns(func() error {
				if out, err := run(restore, payload, "--test"); err != nil {
					return fmt.Errorf("iptables-nft-restore --test: %w\n%s", err, out)
				}
				if out, err := run(restore, payload); err != nil {
					return fmt.Errorf("iptables-nft-restore: %w\n%s", err, out)
				}
				out, err := run(save, nil)
				if err != nil {
					return fmt.Errorf("iptables-nft-save: %w\n%s", err, out)
				}
				if got := strings.Count(string(out), "\n-A "); got != sc.rs.RuleCount() {
					return fmt.Errorf("the kernel holds %d rules, the payload has %d:\n%s", got, sc.rs.RuleCount(), out)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// requireRoot skips the test without root, but fails it when CI=true, so that CI cannot
// skip it silently. (Replace with testutil.RequireRoot once that package exists.)
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root, and CI=true forbids skipping it")
	}
	t.Skip("needs root")
}

func run(path string, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	return cmd.CombinedOutput()
}

// inThrowawayNetns runs fn on an OS thread moved into a new, empty network namespace.
// Commands fn starts inherit the thread's namespace. Before calling fn it checks that a
// child process really lands in another namespace than this process started in, and
// refuses to run fn otherwise.
func inThrowawayNetns(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread dies with the goroutine and takes the
		// namespace with it.
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
