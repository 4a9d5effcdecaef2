package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/labctl/labctl/node/nodetest"
)

// dockerDrops are the capabilities Docker takes from a container started without
// --privileged (every one but its default set). CAP_NET_ADMIN and CAP_SYS_ADMIN
// among them are what labctl needs.
const dockerDrops = "cap_dac_read_search,cap_linux_immutable,cap_net_broadcast,cap_net_admin,cap_ipc_lock," +
	"cap_ipc_owner,cap_sys_module,cap_sys_rawio,cap_sys_ptrace,cap_sys_pacct,cap_sys_admin,cap_sys_boot," +
	"cap_sys_nice,cap_sys_resource,cap_sys_time,cap_sys_tty_config,cap_lease,cap_audit_control," +
	"cap_mac_override,cap_mac_admin,cap_syslog,cap_wake_alarm,cap_block_suspend,cap_audit_read,cap_perfmon," +
	"cap_bpf,cap_checkpoint_restore"

const privilegeHint = "start the container with --privileged"

// TestUnprivilegedContainerSaysSo runs labctl as root with Docker's default
// capabilities, as in a container started without --privileged: it must name the
// cause (exit 2) instead of a kernel "operation not permitted" (exit 1).
func TestUnprivilegedContainerSaysSo(t *testing.T) {
	nodetest.RequireRoot(t)
	// make deps installs capsh: in CI a missing one fails the test.
	capsh := nodetest.RequireTool(t, "capsh", "libcap2-bin")
	lab := uniqueLabName()
	file := writeLab(t, "apiVersion: labctl.dev/v1\nkind: Lab\nname: "+lab+"\nhosts: [{name: a}]\n")
	for _, args := range [][]string{{"up", file}, {"exec", lab, "a", "--", "true"}, {"down", lab}} {
		cmd := exec.Command(capsh, "--drop="+dockerDrops, "--", "-c", `exec "$0" "$@"`, labctlBinary(t))
		cmd.Args = append(cmd.Args, args...)
		out, err := cmd.CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), "CAP_SYS_ADMIN and CAP_NET_ADMIN") || !strings.Contains(string(out), privilegeHint) {
			t.Errorf("labctl %s without privilege: exit %d %q", args[0], code, out)
		}
	}
	assertGone(t, lab)
}

// TestNonRootSaysSo: exec and down, like up, say that root is missing (exit 2),
// rather than failing on a lock file or a namespace they cannot open.
func TestNonRootSaysSo(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	for _, args := range [][]string{{"exec", lab, "a", "--", "true"}, {"down", lab}} {
		cmd := exec.Command(labctlBinary(t), args...)
		cmd.Dir = os.TempDir()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), "root privilege is missing") {
			t.Errorf("labctl %s as nobody: exit %d %q", args[0], code, out)
		}
	}
}
