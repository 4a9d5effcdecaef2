// Package labs holds the shipped labs and their guides, embedded in the labctl binary
// so `labctl lab NAME` works wherever labctl is installed, and parses the guides'
// walkthroughs for workshop mode.
package labs

import "embed"

// Files holds labs/*.yaml and labs/*.md.
//
//go:embed *.yaml *.md
var Files embed.FS
