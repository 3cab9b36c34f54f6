package doctest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// step is one command of a walk-through (with its comments and
// continuation lines) and the answer the documentation shows for it.
type step struct {
	line     int // in the Markdown file, of the step's first line
	commands []string
	expected []string // the "# => " lines, without the prefix
}

const answerPrefix = "# => "

// steps splits a walk-through block into steps: a step ends at a blank
// line or after its "# => " lines.
func steps(b block) []step {
	var out []step
	var cur *step
	flush := func() {
		if cur != nil && len(cur.commands) > 0 {
			out = append(out, *cur)
		}
		cur = nil
	}
	for i, l := range strings.Split(strings.TrimRight(b.text, "\n"), "\n") {
		n := b.line + 1 + i
		switch {
		case strings.TrimSpace(l) == "":
			flush()
		case strings.HasPrefix(l, answerPrefix) || l == strings.TrimSpace(answerPrefix):
			if cur == nil {
				cur = &step{line: n}
			}
			cur.expected = append(cur.expected, strings.TrimPrefix(l, answerPrefix))
		default:
			if cur != nil && len(cur.expected) > 0 {
				flush()
			}
			if cur == nil {
				cur = &step{line: n}
			}
			cur.commands = append(cur.commands, l)
		}
	}
	flush()
	return out
}

// answerPattern turns the lines a step shows into a regexp of its whole
// output: literal text, with "..." standing for any text within a line.
func answerPattern(expected []string) *regexp.Regexp {
	quoted := make([]string, len(expected))
	for i, e := range expected {
		quoted[i] = strings.ReplaceAll(regexp.QuoteMeta(e), `\.\.\.`, `[^\n]*`)
	}
	return regexp.MustCompile(`^` + strings.Join(quoted, `\n`) + `$`)
}

const devAddr = "127.0.0.1:8080" // what the walk-through calls ticketd --dev

var loopbackPortRE = regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):\d+`)

// TestREADMEWalkthrough runs the README's curl walk-through with bash
// against a ticketd --dev, after the export lines its banner printed, as
// a user pastes them, and checks every answer.
func TestREADMEWalkthrough(t *testing.T) {
	var walks []block
	for _, b := range markedBlocks(t, "walkthrough") {
		if b.file == "README.md" {
			walks = append(walks, b)
		}
	}
	if len(walks) != 1 {
		t.Fatalf("README.md has %d blocks marked <!-- doctest:walkthrough -->, want 1", len(walks))
	}
	for _, b := range walks {
		t.Run(fmt.Sprintf("%s:%d", b.file, b.line), func(t *testing.T) { runWalkthrough(t, b) })
	}
}

func runWalkthrough(t *testing.T, b block) {
	if b.lang != "sh" && b.lang != "bash" {
		t.Fatalf("the walk-through block is %q, want sh or bash", b.lang)
	}
	ss := steps(b)
	answers := 0
	for _, s := range ss {
		answers += len(s.expected)
	}
	if len(ss) == 0 || answers == 0 {
		t.Fatalf("the walk-through has %d steps and %d answers to check", len(ss), answers)
	}
	// Every address in it must be ticketd --dev's, which the test moves.
	for _, a := range loopbackPortRE.FindAllString(b.text, -1) {
		if a != devAddr {
			t.Fatalf("the walk-through uses %s; it may only address ticketd --dev as %s", a, devAddr)
		}
	}
	if !strings.Contains(b.text, devAddr) {
		t.Fatalf("the walk-through never addresses ticketd --dev as %s", devAddr)
	}

	d := startDev(t, nil)
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, e := range d.exports {
		script.WriteString(e + "\n")
	}
	for i, s := range ss {
		fmt.Fprintf(&script, "echo '::step %d::'\n", i)
		for _, c := range s.commands {
			script.WriteString(strings.ReplaceAll(c, devAddr, strings.TrimPrefix(d.httpURL, "http://")) + "\n")
		}
	}
	fmt.Fprintf(&script, "echo '::step %d::'\n", len(ss))
	file := filepath.Join(t.TempDir(), "walkthrough.sh")
	if err := os.WriteFile(file, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", file)
	cmd.Env = withoutWSTicket(os.Environ())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Errorf("bash: %v\nstderr:\n%s", err, stderr.String())
	}

	outputs := regexp.MustCompile(`(?m)^::step \d+::\n`).Split(string(stdout), -1)
	// outputs[0] is what the export lines printed; outputs[i+1] is step i's.
	if len(outputs) != len(ss)+2 || outputs[0] != "" {
		t.Fatalf("the script ran %d of %d steps (stderr: %s); output:\n%s", len(outputs)-2, len(ss), stderr.String(), stdout)
	}
	for i, s := range ss {
		got := strings.TrimSuffix(outputs[i+1], "\n")
		if !answerPattern(s.expected).MatchString(got) {
			t.Errorf("%s:%d: step\n\t%s\nanswered\n\t%s\nthe README says\n\t%s", b.file, s.line,
				strings.Join(s.commands, "\n\t"), strings.ReplaceAll(got, "\n", "\n\t"), strings.Join(s.expected, "\n\t"))
		}
	}
}

// withoutWSTicket drops WSTICKET_* from env: the walk-through gets its
// credentials from the export lines, as a user's shell does.
func withoutWSTicket(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "WSTICKET_") {
			out = append(out, e)
		}
	}
	return out
}
