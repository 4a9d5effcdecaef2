package labs

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Guide is a lab guide: its title, introduction and walkthrough steps.
type Guide struct {
	Name  string // file name without .md
	Title string
	Intro string
	Steps []Step
}

// Step is one step of a walkthrough: what to read, then the commands to run.
type Step struct {
	Title    string
	Text     string
	Commands []string
	Line     int // where the step's heading is, for error messages
}

var labFileArg = regexp.MustCompile(`^labctl up (?:\S+ )*?(labs/[a-z0-9-]+\.yaml)\b`)

// LabFiles returns the lab files the walkthrough brings up, in order.
func (g *Guide) LabFiles() []string {
	var out []string
	for _, s := range g.Steps {
		for _, c := range s.Commands {
			if m := labFileArg.FindStringSubmatch(c); m != nil {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// ParseGuide reads a guide in the format of labs/README.md: a "# Title", an
// introduction, and a "## Walkthrough" section whose "### " steps each hold prose and
// exactly one ```sh block with one command per line.
func ParseGuide(name string, md []byte) (*Guide, error) {
	g := &Guide{Name: name}
	var (
		section  string
		step     *Step
		inBlock  bool
		blockSh  bool
		intro    []string
		text     []string
		problems []string
	)
	flush := func() {
		if step == nil {
			return
		}
		step.Text = strings.TrimSpace(strings.Join(text, "\n"))
		if len(step.Commands) == 0 {
			problems = append(problems, fmt.Sprintf("%s.md:%d: step %q has no ```sh block", name, step.Line, step.Title))
		}
		g.Steps = append(g.Steps, *step)
		step, text = nil, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if inBlock {
			switch {
			case strings.HasPrefix(line, "```"):
				inBlock = false
			case blockSh && step != nil && strings.TrimSpace(line) != "":
				step.Commands = append(step.Commands, strings.TrimSpace(line))
			case step != nil && !blockSh:
				text = append(text, line)
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock, blockSh = true, strings.TrimSpace(strings.TrimPrefix(line, "```")) == "sh" && section == "walkthrough"
			if blockSh && step != nil && len(step.Commands) > 0 {
				problems = append(problems, fmt.Sprintf("%s.md:%d: step %q has more than one ```sh block", name, n, step.Title))
			}
			if !blockSh && step != nil {
				text = append(text, line)
			}
		case strings.HasPrefix(line, "# ") && g.Title == "":
			g.Title, section = strings.TrimPrefix(line, "# "), "intro"
		case strings.HasPrefix(line, "## "):
			flush()
			section = ""
			if strings.TrimSpace(strings.TrimPrefix(line, "## ")) == "Walkthrough" {
				section = "walkthrough"
			}
		case strings.HasPrefix(line, "### ") && section == "walkthrough":
			flush()
			step = &Step{Title: strings.TrimPrefix(line, "### "), Line: n}
		case section == "intro" && !strings.HasPrefix(line, "<!--") && len(g.Steps) == 0 && step == nil:
			intro = append(intro, line)
		case step != nil:
			text = append(text, line)
		}
	}
	flush()
	g.Intro = firstParagraphs(intro)
	if g.Title == "" {
		problems = append(problems, name+".md: no \"# Title\" line")
	}
	if len(g.Steps) == 0 {
		problems = append(problems, name+".md: no \"## Walkthrough\" section with \"### \" steps")
	}
	if len(problems) > 0 {
		return g, fmt.Errorf("guide %s: %s", name, strings.Join(problems, "; "))
	}
	return g, nil
}

// firstParagraphs is the introduction's prose (diagrams and code are left out).
func firstParagraphs(lines []string) string {
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
