package iptables

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/nodetest"
)

// The legacy backend must not serialise every namespace on the machine-wide
// /run/xtables.lock: each namespace gets its own lock file through XTABLES_LOCKFILE.
func TestLegacyLockFilePerNamespace(t *testing.T) {
	dir := t.TempDir()
	r := Runner{Backend: Legacy, LockDir: dir}
	env := strings.Join(r.env("/run/netns/lc.lab.node-1"), "\n")
	if want := "XTABLES_LOCKFILE=" + filepath.Join(dir, "lc.lab.node-1.xtables.lock"); !strings.Contains(env, want) {
		t.Fatalf("environment lacks %s", want)
	}
	if env := strings.Join((Runner{Backend: NFT, LockDir: dir}).env("x"), "\n"); strings.Contains(env, "XTABLES_LOCKFILE="+dir) {
		t.Error("nft restores got a lock file: nf_tables needs none")
	}
}

// TestLegacyRestoreHonoursLockFile proves, with the real iptables-legacy-restore, that
// the lock it takes is the per-namespace file: while this test holds that file's lock,
// the restore waits; once released, it loads. (iptables 1.8.9 reads XTABLES_LOCKFILE;
// an iptables that ignored it would not wait here.)
func TestLegacyRestoreHonoursLockFile(t *testing.T) {
	nodetest.RequireRoot(t)
	// make deps installs the iptables package, which has both backends: in CI a
	// missing iptables-legacy-restore fails the test instead of skipping it.
	nodetest.RequireTool(t, "iptables-legacy-restore", "iptables")
	r := Runner{Backend: Legacy, LockDir: t.TempDir()}
	lockPath := filepath.Join(r.LockDir, "scratch.xtables.lock")
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	payload := []byte("*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 192.0.2.1/32 -j ACCEPT\nCOMMIT\n")
	done := make(chan error, 1)
	go func() {
		// A scratch namespace of this thread only, discarded with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		done <- r.restore(context.Background(), "scratch", payload, "-w")
	}()
	select {
	case err := <-done:
		t.Fatalf("restore finished while its namespace's lock file was held (err %v): XTABLES_LOCKFILE is not honoured", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("restore after the lock was released: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("restore still waiting 30 s after the lock was released")
	}
}
