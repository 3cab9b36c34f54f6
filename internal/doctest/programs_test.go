package doctest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// program is a complete Go program found in the documentation.
type program struct {
	block
	imports []string
}

func (p program) String() string { return fmt.Sprintf("%s:%d", p.file, p.line) }

// isProgram reports whether a block is a complete Go program: its first
// line that is neither blank nor a comment is "package main".
func isProgram(b block) bool {
	if b.lang != "go" {
		return false
	}
	for _, l := range strings.Split(b.text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "//") {
			continue
		}
		return l == "package main"
	}
	return false
}

// programs returns every complete Go program in the documentation, parsed.
func programs(t *testing.T) []program {
	t.Helper()
	var out []program
	for _, f := range docFiles(t) {
		for _, b := range blocks(t, f) {
			if !isProgram(b) {
				continue
			}
			p := program{block: b}
			file, err := parser.ParseFile(token.NewFileSet(), "main.go", b.text, parser.ImportsOnly)
			if err != nil {
				t.Errorf("%s: does not parse: %v", p, err)
				continue
			}
			for _, imp := range file.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				p.imports = append(p.imports, path)
			}
			out = append(out, p)
		}
	}
	return out
}

var goGetRE = regexp.MustCompile(`(?m)^\s*go get ([^\n]+)$`)

// goVersion is the language version in the repository's go.mod, such as
// "1.26".
func goVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

// TestGoProgramsBuild builds every complete Go program in README.md and
// docs/*.md against this tree, as a user who pasted it into a new module
// would, and checks that the text around it says how: a `go get` line
// that names the module of every import, and the minimum Go version.
func TestGoProgramsBuild(t *testing.T) {
	progs := programs(t)
	if len(progs) == 0 {
		t.Fatal("README.md and docs/*.md hold no complete Go program (a ```go block starting with package main)")
	}
	version := goVersion(t)
	for _, p := range progs {
		t.Run(p.String(), func(t *testing.T) {
			checkGoGet(t, p)
			if !strings.Contains(strings.Join(strings.Fields(p.section), " "), "Go "+version+" or later") {
				t.Errorf("%s: its section does not say %q (go.mod's version)", p, "Go "+version+" or later")
			}
			buildProgram(t, p)
		})
	}
}

// checkGoGet fails the test unless a `go get` line in p's section names,
// for every import outside the standard library, its module (a path that
// is the import path or a prefix of it).
func checkGoGet(t *testing.T, p program) {
	t.Helper()
	var modules []string
	for _, m := range goGetRE.FindAllStringSubmatch(p.section, -1) {
		for _, f := range strings.Fields(m[1]) {
			mod, _, _ := strings.Cut(f, "@")
			modules = append(modules, mod)
		}
	}
	if len(modules) == 0 {
		t.Errorf("%s: no `go get` line in its section", p)
		return
	}
	for _, imp := range p.imports {
		if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
			continue // the standard library
		}
		found := false
		for _, mod := range modules {
			if imp == mod || strings.HasPrefix(imp, mod+"/") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s imports %s, which no `go get` line of its section names (it names %v)", p, imp, modules)
		}
	}
}

var (
	builtMu sync.Mutex
	built   = map[string]string{} // source hash -> binary
)

// buildProgram builds p in a fresh module that requires this tree through
// a replace directive, offline (modules from the cache only), and returns
// the binary. Programs are built once per test binary.
func buildProgram(t *testing.T, p program) string {
	t.Helper()
	sum := sha256.Sum256([]byte(p.text))
	key := hex.EncodeToString(sum[:])
	builtMu.Lock()
	defer builtMu.Unlock()
	if bin, ok := built[key]; ok {
		return bin
	}
	root := repoRoot(t)
	dir, err := os.MkdirTemp("", "doctest-prog-")
	if err != nil {
		t.Fatal(err)
	}
	// The binary outlives this test (others run it): TestMain removes
	// the directory.
	cleanupDirs = append(cleanupDirs, dir)
	// The module requires what this tree requires, as `go get` of it
	// would make it, so that nothing needs the network: `go mod tidy`
	// would look up the test dependencies of dependencies.
	treeMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	requires := regexp.MustCompile(`(?ms)^require (\(.*?^\)|[^\n]*$)`).FindAll(treeMod, -1)
	gomod := fmt.Sprintf("module example.com/doctest\n\ngo %s\n\nrequire github.com/wsticket/wsticket v0.0.0\n\n%s\n\nreplace github.com/wsticket/wsticket => %s\n",
		goVersion(t), bytes.Join(requires, []byte("\n\n")), root)
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sums, "main.go": []byte(p.text)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	run := func(args ...string) {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = offlineGo()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: go %s: %v\n%s\nthe program:\n%s", p, strings.Join(args, " "), err, out, numbered(p.text))
		}
	}
	bin := filepath.Join(dir, "prog")
	run("build", "-o", bin, ".")
	run("vet", ".")
	built[key] = bin
	return bin
}

// numbered returns src with line numbers, for failure messages.
func numbered(src string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimRight(src, "\n"), "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}
