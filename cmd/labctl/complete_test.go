package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
)

// completion runs labctl's hidden __complete command in-process, as the shell
// scripts of labctl completion do, and returns the candidates and the directive.
func completion(t *testing.T, args ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("__complete %q: %v", args, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	d, err := strconv.Atoi(strings.TrimPrefix(last, ":"))
	if !strings.HasPrefix(last, ":") || err != nil {
		t.Fatalf("__complete %q: no directive line in %q", args, out.String())
	}
	return lines[:len(lines)-1], cobra.ShellCompDirective(d)
}

// fakeLab makes labctl believe a lab runs: a state record in a private state
// directory, no namespaces (completion reads only the record). It returns the lab
// name and switches to a directory holding a lab file, a folder and a non-lab file.
func fakeLab(t *testing.T) (string, string) {
	t.Helper()
	saved := node.StateDir
	node.StateDir = t.TempDir()
	t.Cleanup(func() { node.StateDir = saved })
	running := "cpl-" + uniqueLabName()
	st := node.State{Instance: running, Lab: running, Status: node.StatusUp, Hosts: []node.Host{
		{Name: "internet", Kind: "network"}, {Name: "client", Kind: "host"}, {Name: "server", Kind: "host"},
	}}
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(node.StateDir, running), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(node.StateDir, running, "state.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	stopped := "cpl-" + uniqueLabName()
	lab := "apiVersion: labctl.dev/v1\nkind: Lab\nname: " + stopped + "\nhosts: [{name: alpha}, {name: beta}]\n"
	for name, content := range map[string]string{"mylab.yaml": lab, "notes.txt": "x"} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir("labs", 0o755); err != nil {
		t.Fatal(err)
	}
	return running, stopped
}

func TestCompletion(t *testing.T) {
	running, _ := fakeLab(t)
	cases := []struct {
		args      []string
		want      []string // each must be offered
		notWant   []string // none may be
		directive cobra.ShellCompDirective
	}{
		// FILE|LABNAME with a lab running: its name, and lab files and folders here.
		{[]string{"exec", ""}, []string{running, "mylab.yaml", "labs/"}, []string{"notes.txt"},
			cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace},
		{[]string{"down", "cpl-"}, []string{running}, []string{"mylab.yaml"}, cobra.ShellCompDirectiveNoFileComp},
		// Nothing running matches, or a path is being typed: the shell completes lab files.
		{[]string{"down", "zz"}, []string{"yaml", "yml"}, nil, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"exec", "labs/"}, []string{"yaml", "yml"}, nil, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"up", ""}, []string{"yaml", "yml"}, nil, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"plan", ""}, []string{"yaml", "yml"}, nil, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"graph", ""}, []string{"yaml", "yml"}, nil, cobra.ShellCompDirectiveFilterFileExt},
		// HOST: from the running lab's record, networks included (exec enters them too) ...
		{[]string{"exec", running, ""}, []string{"internet", "client", "server"}, nil, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"exec", running, "s"}, []string{"server"}, []string{"client", "internet"}, cobra.ShellCompDirectiveNoFileComp},
		// ... or from the lab file when the lab is not running.
		{[]string{"exec", "mylab.yaml", ""}, []string{"alpha", "beta"}, nil, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"graph", "--format", ""}, []string{"mermaid", "dot"}, nil, cobra.ShellCompDirectiveNoFileComp},
		// trace: the lab, then FROM and TO among its hosts.
		{[]string{"trace", ""}, []string{running, "mylab.yaml", "labs/"}, []string{"notes.txt"},
			cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace},
		{[]string{"trace", running, "c"}, []string{"client"}, []string{"server"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"trace", running, "client", "s"}, []string{"server"}, []string{"client"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"trace", "mylab.yaml", "client", ""}, []string{"alpha", "beta"}, nil, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"trace", running, "client", "server", ""}, nil, []string{"client", "server"}, cobra.ShellCompDirectiveNoFileComp},
		// test: a lab file for every argument, not only the first.
		{[]string{"test", ""}, []string{"yaml", "yml"}, nil, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"test", "mylab.yaml", ""}, []string{"yaml", "yml"}, nil, cobra.ShellCompDirectiveFilterFileExt},
		{[]string{"test", "mylab.yaml", "labs/a.yaml", ""}, []string{"yaml", "yml"}, nil, cobra.ShellCompDirectiveFilterFileExt},
		// Flag values.
		{[]string{"trace", "--proto", ""}, []string{"tcp", "udp", "http", "icmp"}, nil, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"trace", "-o", ""}, []string{"text", "json"}, []string{"table"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"verify", "--output", ""}, []string{"table", "json"}, []string{"text"}, cobra.ShellCompDirectiveNoFileComp},
		{[]string{"test", "-o", ""}, []string{"table", "json"}, nil, cobra.ShellCompDirectiveNoFileComp},
	}
	for _, c := range cases {
		got, directive := completion(t, c.args...)
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("labctl __complete %q: %q missing from %q", c.args, w, got)
			}
		}
		for _, w := range c.notWant {
			if slices.Contains(got, w) {
				t.Errorf("labctl __complete %q: %q offered in %q", c.args, w, got)
			}
		}
		if directive != c.directive {
			t.Errorf("labctl __complete %q: directive %d, want %d", c.args, directive, c.directive)
		}
	}
}

// TestCompletionScripts checks that every shell gets a script wired to __complete.
func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs([]string{"completion", shell})
		if err := root.Execute(); err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		if !strings.Contains(out.String(), cobra.ShellCompRequestCmd) {
			t.Errorf("completion %s: the script never calls %s", shell, cobra.ShellCompRequestCmd)
		}
	}
}
