package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/rtnl"
)

// witness measures when the kernel has really finished tearing a lab down. Deleting a
// namespace only drops its name; the kernel's cleanup work then unregisters its
// devices asynchronously. The witness holds one end of a veth in a namespace of its
// own (never the root namespace) whose other end sits in a lab namespace: when the
// kernel destroys that lab namespace's devices, the witness's end goes too.
type witness struct {
	name string
	fd   int
	conn *rtnl.Conn
	ends []string
}

const witnessNS = "lcbench-witness"

func newWitness() (*witness, error) {
	w := &witness{name: witnessNS, fd: -1}
	path := filepath.Join("/run/netns", w.name)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		back, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(back)
		// The socket stays in the witness namespace; the thread goes back, or if it
		// cannot, stays locked and dies with the goroutine.
		defer func() {
			if unix.Setns(back, unix.CLONE_NEWNET) == nil {
				runtime.UnlockOSThread()
			}
		}()
		errc <- func() error {
			if err := os.MkdirAll("/run/netns", 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
			if err != nil {
				return fmt.Errorf("witness namespace %s exists (left by a killed run? remove it with ip netns del %s): %w", w.name, w.name, err)
			}
			f.Close()
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return err
			}
			if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
				return err
			}
			if w.fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
				return err
			}
			w.conn, err = rtnl.Open()
			return err
		}()
	}()
	if err := <-errc; err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// attach links the witness to the lab namespace mounted at nsPath.
func (w *witness) attach(nsPath string) error {
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("witness: open %s: %w", nsPath, err)
	}
	defer unix.Close(fd)
	name := fmt.Sprintf("w%d", len(w.ends))
	w.conn.AddVeth(rtnl.Veth{Name: "lcwitness", NetNS: fd, PeerName: name, PeerNetNS: rtnl.NoNS}, nil)
	if err := w.conn.Flush(); err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	w.ends = append(w.ends, name)
	return nil
}

// wait returns when every attached lab namespace's devices are gone, or after limit.
func (w *witness) wait(limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for len(w.ends) > 0 {
		if _, err := w.conn.LinkIndex(w.ends[0]); err != nil {
			if !errors.Is(err, unix.ENODEV) {
				return 0, err
			}
			w.ends = w.ends[1:]
			continue
		}
		if time.Since(start) > limit {
			return time.Since(start), fmt.Errorf("kernel cleanup not done after %s", limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start), nil
}

// close removes the witness namespace (and any end still in it).
func (w *witness) close() {
	if w.conn != nil {
		w.conn.Close()
	}
	if w.fd >= 0 {
		unix.Close(w.fd)
	}
	path := filepath.Join("/run/netns", w.name)
	_ = unix.Unmount(path, unix.MNT_DETACH)
	_ = os.Remove(path)
}
