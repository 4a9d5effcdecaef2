// Package node builds and removes what a plan describes, in the kernel: named network
// namespaces, bridges, veth pairs, addresses, routes, sysctls, iptables rules and the
// processes of a lab. It is the only package of labctl with kernel side effects.
package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"
)

// NetnsDir is where named network namespaces are bind-mounted, as iproute2 does, so
// `ip netns exec` and `ip -n` work on lab hosts too.
const NetnsDir = "/run/netns"

// NetnsPath is the bind-mount path of a named namespace.
func NetnsPath(name string) string { return filepath.Join(NetnsDir, name) }

// createNetns creates the named namespace and runs setup inside it, on the very thread
// that created it. The thread then goes back to the namespace it came from and is
// reused (a new OS thread per namespace would cost a clone and a runtime thread start
// each); if it cannot go back, it stays locked and Go discards it when the goroutine
// ends. The way back is the thread's own namespace, opened before it leaves: not
// /proc/self, which is the main thread's, and that one may be wedged in a namespace
// by a goroutine that exited while locked to it.
func createNetns(name string, setup func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		back, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open the thread's namespace: %w", err)
			return
		}
		defer unix.Close(back)
		err = enterNew(name)
		if err == nil && setup != nil {
			err = setup()
		}
		if unix.Setns(back, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// enterNew moves the calling (locked) thread into a new namespace bind-mounted under
// name. The mount point is created first with O_EXCL, so an existing namespace of the
// same name is never replaced.
func enterNew(name string) error {
	path := NetnsPath(name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", NetnsDir, err)
		}
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	}
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("namespace %s already exists (left by an earlier run?): run labctl down first", name)
		}
		return fmt.Errorf("create namespace file: %w", err)
	}
	f.Close()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		os.Remove(path)
		return fmt.Errorf("unshare network namespace: %w", err)
	}
	if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
		os.Remove(path)
		return fmt.Errorf("bind-mount namespace to %s: %w", path, err)
	}
	return nil
}

// deleteNetns unmounts and removes a named namespace. The kernel frees the namespace,
// and every interface in it, once no process or socket holds it any more.
func deleteNetns(name string) error {
	path := NetnsPath(name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount namespace %s: %w", name, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove namespace %s: %w", name, err)
	}
	return nil
}

// listNetns returns the names of the named namespaces that start with prefix.
func listNetns(prefix string) ([]string, error) {
	entries, err := os.ReadDir(NetnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", NetnsDir, err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// netnsExists reports whether the named namespace is mounted.
func netnsExists(name string) bool {
	return ns.IsNSorErr(NetnsPath(name)) == nil
}

// InNetns runs fn on a thread that has entered the named namespace; processes started
// from fn (os/exec) are born in that namespace. The thread returns to the original
// namespace afterwards.
func InNetns(name string, fn func() error) error {
	return ns.WithNetNSPath(NetnsPath(name), func(ns.NetNS) error { return fn() })
}
