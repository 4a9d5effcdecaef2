package node

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/topo/plan"
)

// HostNetns returns the namespace name of a host of a running instance.
func HostNetns(instance, host string) (string, error) {
	st, err := ReadState(instance)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("lab %s is not running (labctl ls shows what runs)", instance)
	}
	if err != nil {
		return "", err
	}
	h := st.Host(host)
	if h == nil {
		names := make([]string, len(st.Hosts))
		for i, x := range st.Hosts {
			names[i] = x.Name
		}
		return "", fmt.Errorf("lab %s has no host %q (hosts: %v)", instance, host, names)
	}
	if !netnsExists(h.NetNS) {
		return "", fmt.Errorf("host %s of lab %s is gone (namespace %s): run labctl up --replace", host, instance, h.NetNS)
	}
	return h.NetNS, nil
}

// Exec replaces the labctl process with argv, run inside a host's network namespace and
// in a private mount namespace whose /sys shows that network namespace (as ip netns exec
// does) and whose /etc/hosts and /etc/resolv.conf are the lab's. Standard streams and
// the exit status pass straight through. It returns only on error.
func Exec(instance, host string, argv []string) error {
	netnsName, err := HostNetns(instance, host)
	if err != nil {
		return err
	}
	etc := labEtc(instance)
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	f, err := os.Open(NetnsPath(netnsName))
	if err != nil {
		return fmt.Errorf("open namespace of host %s: %w", host, err)
	}
	defer f.Close()
	// execve keeps only the calling thread, with its namespaces: lock it.
	runtime.LockOSThread()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter namespace of host %s: %w", host, err)
	}
	privateMounts(etc)
	env := append(os.Environ(), EnvMarker+"="+instance, "LABCTL_HOST="+host)
	return syscall.Exec(path, argv, env)
}

// privateMounts gives the thread a mount namespace of its own in which /sys is the
// sysfs of its network namespace (tools reading /sys/class/net see the host's
// interfaces) and /etc/hosts and /etc/resolv.conf are the lab's. Best effort: without
// it only /sys and name lookups are wrong; netlink-based tools are not affected.
func privateMounts(etc map[string]string) {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return
	}
	if err := unix.Mount("", "/", "none", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return
	}
	for target, source := range etc {
		_ = unix.Mount(source, target, "none", unix.MS_BIND, "")
	}
	if err := unix.Unmount("/sys", unix.MNT_DETACH); err != nil {
		return
	}
	_ = unix.Mount("sysfs", "/sys", "sysfs", 0, "")
}

// labEtc writes, once per lab, the /etc files commands inside it see: a hosts file
// naming every lab host (so "ping web-0" works), and a resolv.conf without servers, so
// a lookup fails at once on the namespace's own loopback instead of waiting for the
// machine's resolver, which the lab cannot reach (iptables -L would hang for seconds).
func labEtc(instance string) map[string]string {
	st, err := ReadState(instance)
	if err != nil {
		return nil
	}
	dir := instanceDir(instance)
	var hosts strings.Builder
	hosts.WriteString("# written by labctl: the hosts of lab " + instance + "\n127.0.0.1\tlocalhost\n")
	for _, h := range st.Hosts {
		if h.Kind == plan.KindNetwork || len(h.Addresses) == 0 {
			continue
		}
		if p, err := netip.ParsePrefix(h.Addresses[0]); err == nil {
			fmt.Fprintf(&hosts, "%s\t%s\n", p.Addr(), h.Name)
		}
	}
	files := map[string]string{
		"/etc/hosts":       hosts.String(),
		"/etc/resolv.conf": "# written by labctl: no name server inside a lab\noptions timeout:1 attempts:1\n",
	}
	out := map[string]string{}
	for target, content := range files {
		source := filepath.Join(dir, filepath.Base(target))
		if err := os.WriteFile(source, []byte(content), 0o644); err == nil {
			out[target] = source
		}
	}
	return out
}

// Running is a lab instance found on this machine.
type Running struct {
	Instance string
	// State is nil when only namespaces are left (an up killed before its record
	// was written is impossible, but a record deleted by hand is not).
	State      *State
	Namespaces int
}

// List returns the lab instances on this machine.
func List() ([]Running, error) {
	names, err := Instances()
	if err != nil {
		return nil, err
	}
	out := make([]Running, 0, len(names))
	for _, inst := range names {
		r := Running{Instance: inst}
		if st, err := ReadState(inst); err == nil {
			r.State = st
		}
		ns, err := listNetns(plan.InstancePrefix(inst))
		if err != nil {
			return nil, err
		}
		r.Namespaces = len(ns)
		out = append(out, r)
	}
	return out, nil
}
