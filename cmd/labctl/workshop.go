package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/labs"
)

type workshopFlags struct {
	check, list bool
}

func newLabCmd() *cobra.Command {
	f := &workshopFlags{}
	cmd := &cobra.Command{
		Use:   "lab [NAME|GUIDE.md]",
		Short: "Walk through a lab's guide step by step (workshop mode)",
		Long: `Walk through a lab's guide in the terminal: each step's explanation, then its
commands, run when you press Enter, with their output. NAME is a lab of labs/
(hairpin, lb-nodeport, ...); labctl carries them, so this works outside the
repository too. Without NAME, the guides are listed.

--check runs every guide step without stopping and fails on the first command that
fails, removing the labs it brought up: how instructors and CI check that guides still
work. Of several files (labs/*.md), those with no walkthrough at all, like the index
labs/README.md, are skipped and named.`,
		Example:           "  labctl lab hairpin\n  labctl lab --check labs/*.md",
		ValidArgsFunction: completeGuides,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.list || len(args) == 0 {
				return listGuides(cmd.OutOrStdout())
			}
			if !f.check && len(args) > 1 {
				return usageError{errors.New("walk through one guide at a time (or use --check)")}
			}
			guides := args
			if len(args) > 1 {
				guides = onlyGuides(cmd, args)
			}
			for _, a := range guides {
				if err := walkGuide(cmd, a, f.check); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.check, "check", false, "run every step without stopping; fail on the first failing command")
	cmd.Flags().BoolVar(&f.list, "list", false, "list the guides")
	return cmd
}

// guideSource finds a guide and the directory its commands run in: the repository's
// own labs/ when it is there, else a copy of the labs labctl carries.
func guideSource(arg string) (*labs.Guide, string, func(), error) {
	name := strings.TrimSuffix(filepath.Base(arg), ".md")
	if strings.HasSuffix(arg, ".md") {
		data, err := os.ReadFile(arg)
		if err != nil {
			return nil, "", nil, usageError{err}
		}
		g, err := labs.ParseGuide(name, data)
		// A guide at labs/<name>.md runs from the directory above labs/.
		return g, filepath.Dir(filepath.Dir(arg)), func() {}, err
	}
	if data, err := os.ReadFile(filepath.Join("labs", name+".md")); err == nil {
		g, err := labs.ParseGuide(name, data)
		return g, ".", func() {}, err
	}
	data, err := fs.ReadFile(labs.Files, name+".md")
	if err != nil {
		return nil, "", nil, usageError{fmt.Errorf("no guide named %q (labctl lab lists them)", name)}
	}
	g, err := labs.ParseGuide(name, data)
	if err != nil {
		return nil, "", nil, err
	}
	dir, err := os.MkdirTemp("", "labctl-lab-")
	if err != nil {
		return nil, "", nil, err
	}
	if err := os.CopyFS(filepath.Join(dir, "labs"), labs.Files); err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	return g, dir, func() { os.RemoveAll(dir) }, nil
}

func listGuides(w io.Writer) error {
	entries, err := fs.Glob(labs.Files, "*.md")
	if err != nil {
		return err
	}
	sort.Strings(entries)
	for _, e := range entries {
		data, _ := fs.ReadFile(labs.Files, e)
		g, err := labs.ParseGuide(strings.TrimSuffix(e, ".md"), data)
		if err != nil {
			continue // the index, not a guide
		}
		fmt.Fprintf(w, "%-24s %s\n", g.Name, g.Title)
	}
	fmt.Fprintln(w, "\nlabctl lab NAME walks through one of them.")
	return nil
}

// walkGuide runs a guide's walkthrough, interactively or (check) straight through.
// Whatever happens, the labs the walkthrough brought up are removed at the end.
func walkGuide(cmd *cobra.Command, arg string, check bool) (err error) {
	g, dir, cleanup, err := guideSource(arg)
	if err != nil {
		return err
	}
	defer cleanup()
	env, undo, err := withSelfOnPath()
	if err != nil {
		return err
	}
	defer undo()
	out, in := cmd.OutOrStdout(), bufio.NewReader(cmd.InOrStdin())
	self, err := os.Executable()
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range g.LabFiles() {
			down := exec.Command(self, "down", "-q", f)
			down.Dir, down.Env = dir, env
			_ = down.Run()
		}
	}()
	fmt.Fprintf(out, "%s\n%s\n\n%s\n", g.Title, strings.Repeat("=", len(g.Title)), g.Intro)
	for i, s := range g.Steps {
		fmt.Fprintf(out, "\n--- step %d/%d: %s\n\n%s\n\n", i+1, len(g.Steps), s.Title, s.Text)
		for _, c := range s.Commands {
			fmt.Fprintf(out, "  $ %s\n", c)
		}
		if !check {
			switch ask(out, in) {
			case "q":
				return nil
			case "s":
				continue
			}
		}
		for _, c := range s.Commands {
			if err := runGuideCommand(cmd, dir, env, c); err != nil {
				return fmt.Errorf("guide %s, step %d (%s): %q failed: %w", g.Name, i+1, s.Title, c, err)
			}
		}
	}
	fmt.Fprintf(out, "\nDone: %s\n", g.Title)
	return nil
}

// onlyGuides drops, from several files, the Markdown files that are no guide (no
// walkthrough step at all, like labs/README.md), as the listing does, so labctl lab
// --check labs/*.md checks every guide; each one dropped is named. A guide with a
// broken step is kept, so it fails. Named alone, any file is walked (and fails if it
// is no guide).
func onlyGuides(cmd *cobra.Command, args []string) []string {
	var out []string
	for _, a := range args {
		if data, err := os.ReadFile(a); err == nil && strings.HasSuffix(a, ".md") {
			if g, err := labs.ParseGuide(strings.TrimSuffix(filepath.Base(a), ".md"), data); err != nil && len(g.Steps) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "labctl: %s has no walkthrough steps: not a guide, skipped\n", a)
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

func ask(out io.Writer, in *bufio.Reader) string {
	fmt.Fprint(out, "\n[Enter] run   s skip   q quit > ")
	line, err := in.ReadString('\n')
	if err != nil {
		return "q"
	}
	return strings.TrimSpace(strings.ToLower(line))
}

func runGuideCommand(cmd *cobra.Command, dir string, env []string, command string) error {
	c := exec.CommandContext(cmd.Context(), "/bin/sh", "-c", command)
	c.Dir, c.Env = dir, env
	c.Stdout, c.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
	fmt.Fprintln(cmd.OutOrStdout())
	return c.Run()
}

// withSelfOnPath makes "labctl" in guide commands mean this very binary, whatever its
// file is called, through a directory holding one symlink put first on PATH.
func withSelfOnPath() ([]string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find the labctl binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "labctl-path-")
	if err != nil {
		return nil, nil, err
	}
	undo := func() { os.RemoveAll(dir) }
	if err := os.Symlink(self, filepath.Join(dir, "labctl")); err != nil {
		undo()
		return nil, nil, err
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return append(env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH")), undo, nil
}

func completeGuides(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	entries, _ := fs.Glob(labs.Files, "*.md")
	var out []string
	for _, e := range entries {
		if name := strings.TrimSuffix(e, ".md"); strings.HasPrefix(name, toComplete) && name != "README" {
			out = append(out, name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
