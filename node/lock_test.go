package node

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/nodetest"
)

// tempStateDir points StateDir at a directory of the test's own.
func tempStateDir(t *testing.T) {
	old := StateDir
	StateDir = t.TempDir()
	t.Cleanup(func() { StateDir = old })
}

// lockAsync takes the lock in a goroutine; the channel yields it once held.
func lockAsync(t *testing.T, instance string) <-chan *instanceLock {
	got := make(chan *instanceLock, 1)
	go func() {
		l, err := lock(instance)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	return got
}

func assertWaiting(t *testing.T, got <-chan *instanceLock, why string) {
	t.Helper()
	select {
	case l := <-got:
		l.unlock()
		t.Fatalf("lock taken %s", why)
	case <-time.After(100 * time.Millisecond):
	}
}

func receive(t *testing.T, got <-chan *instanceLock) *instanceLock {
	t.Helper()
	select {
	case l := <-got:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("lock still waiting 10 s after it was released")
		return nil
	}
}

// TestLockFileRemovedSafely: the holder removes the lock file while a second process
// waits for it; the waiter then holds a lock file that is at the path (not the
// removed one), so a third still has to wait for it.
func TestLockFileRemovedSafely(t *testing.T) {
	tempStateDir(t)
	path := filepath.Join(StateDir, ".locks", "lab")
	first, err := lock("lab")
	if err != nil {
		t.Fatal(err)
	}
	second := lockAsync(t, "lab")
	assertWaiting(t, second, "while another holder had it")
	first.remove()
	held := receive(t, second)
	var a, b unix.Stat_t
	if err := unix.Fstat(int(held.f.Fd()), &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(path, &b); err != nil || a.Ino != b.Ino {
		t.Fatalf("the waiter holds a lock file that is not at %s (stat: %v)", path, err)
	}
	third := lockAsync(t, "lab")
	assertWaiting(t, third, "twice at once after the file was removed")
	held.remove()
	receive(t, third).remove()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left after remove: %v", err)
	}
}

func TestLockRefusesPaths(t *testing.T) {
	tempStateDir(t)
	for _, name := range []string{"", "..", "../x", "a/b", ".hidden"} {
		if l, err := lock(name); err == nil {
			l.unlock()
			t.Errorf("lock(%q) succeeded", name)
		}
	}
}

// TestDownRemovesLockFile: a successful down leaves no lock file behind.
func TestDownRemovesLockFile(t *testing.T) {
	nodetest.RequireRoot(t)
	p := compileLab(t, basicLab)
	upForTest(t, p)
	path := filepath.Join(StateDir, ".locks", p.Instance)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no lock file while the lab is up: %v", err)
	}
	if _, err := Down(p.Instance); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file %s left after down: %v", path, err)
	}
}
