package rules

import (
	"fmt"
	"strings"
	"testing"
)

// TestTargetsMatchKernel checks labctl's rules about where targets may be used
// against what iptables-nft and iptables-legacy accepted on a real kernel (recorded by
// testdata/kernel/gen.sh): Parse must accept a rule exactly when both backends loaded
// it, directly in each built-in chain, in an unreferenced user chain, and in a user
// chain that the built-in chain jumps to. Targets that loaded nowhere (their module
// was missing on the recording machine) say nothing and are skipped.
func TestTargetsMatchKernel(t *testing.T) {
	nft := readVerdicts(t, "kernel/targets-nft.txt")
	legacy := readVerdicts(t, "kernel/targets-legacy.txt")
	loadsSomewhere := map[string]bool{}
	for key, ok := range nft {
		if ok && legacy[key] {
			loadsSomewhere[strings.Fields(key)[0]] = true
		}
	}
	const match = "-p tcp --tcp-flags SYN,RST SYN"
	checked := 0
	for key, nftOK := range nft {
		var target, table, chain, how string
		fmt.Sscan(strings.ReplaceAll(key, " | ", " "), &target, &table, &chain, &how)
		spec := strings.SplitN(key, " | ", 2)[1]
		if !loadsSomewhere[target] {
			continue
		}
		var text string
		switch how {
		case "direct":
			text = fmt.Sprintf("*%s\n-A %s %s %s\nCOMMIT\n", table, chain, match, spec)
		case "user":
			text = fmt.Sprintf("*%s\n:USR - [0:0]\n-A USR %s %s\nCOMMIT\n", table, match, spec)
		case "via":
			text = fmt.Sprintf("*%s\n:USR - [0:0]\n-A USR %s %s\n-A %s -j USR\nCOMMIT\n", table, match, spec, chain)
		}
		want := nftOK && legacy[key]
		_, problems := Parse(text, nil, nil)
		if got := len(problems) == 0; got != want {
			t.Errorf("%s: kernel accepts: %v, labctl accepts: %v %v\n%s", key, want, got, problems, text)
		}
		checked++
	}
	if checked < 300 {
		t.Errorf("checked only %d verdicts; testdata/kernel is incomplete", checked)
	}
}

// readVerdicts reads a gen.sh output into "TARGET TABLE CHAIN HOW | -j TARGET OPTIONS"
// keys, HOW being direct, user or via.
func readVerdicts(t *testing.T, name string) map[string]bool {
	t.Helper()
	verdicts := map[string]bool{}
	for _, line := range strings.Split(readTestdata(t, name), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, spec, ok := strings.Cut(line, " -j ")
		if !ok {
			t.Fatalf("%s: cannot read %q", name, line)
		}
		spec = "-j " + spec
		target := strings.Fields(spec)[1]
		fields := strings.Fields(head)
		table := fields[0]
		verdicts[fmt.Sprintf("%s %s - user | %s", target, table, spec)] = fields[1] == "user=y"
		for _, f := range fields[2:] {
			chain, result, _ := strings.Cut(f, "=")
			verdicts[fmt.Sprintf("%s %s %s direct | %s", target, table, chain, spec)] = result[0] == 'y'
			if result[1] != '-' {
				verdicts[fmt.Sprintf("%s %s %s via | %s", target, table, chain, spec)] = result[1] == 'y'
			}
		}
	}
	return verdicts
}
