package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Files the tests read, relative to deploy/.
const (
	dockerfilePath   = "Dockerfile"
	dockerignorePath = "Dockerfile.dockerignore"
	makefilePath     = "../Makefile"
	rootGoMod        = "../go.mod"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, ...
	Args string
	Line int
}

// stage is one FROM and the instructions under it.
type stage struct {
	From, Name string
	Instrs     []instruction
}

// all returns the stage's instructions of cmd.
func (s *stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Instrs {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// dockerfile is a parsed Dockerfile: its global ARG defaults and stages.
type dockerfile struct {
	Args   map[string]string
	Stages []*stage
}

func (d *dockerfile) stage(name string) *stage {
	for _, s := range d.Stages {
		if s.Name == name {
			return s
		}
	}
	return nil
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// parseDockerfile parses the subset of Dockerfile syntax the image uses:
// comments, line continuations, global ARGs with defaults (substituted in
// FROM), FROM ... AS name, and instructions as text.
func parseDockerfile(src string) (*dockerfile, error) {
	d := &dockerfile{Args: map[string]string{}}
	var cur strings.Builder
	start := 0
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		switch {
		case in.Cmd == "FROM":
			f := strings.Fields(argRef.ReplaceAllStringFunc(in.Args, func(ref string) string {
				return d.Args[argRef.FindStringSubmatch(ref)[1]]
			}))
			s := &stage{From: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.Name = f[2]
			} else if len(f) != 1 {
				return fmt.Errorf("line %d: FROM %q", start, in.Args)
			}
			d.Stages = append(d.Stages, s)
		case len(d.Stages) == 0 && in.Cmd == "ARG":
			name, def, _ := strings.Cut(in.Args, "=")
			d.Args[name] = def
		case len(d.Stages) == 0:
			return fmt.Errorf("line %d: %s before the first FROM", start, in.Cmd)
		default:
			s := d.Stages[len(d.Stages)-1]
			s.Instrs = append(s.Instrs, in)
		}
		return nil
	}
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // comments, parser directives, and comments inside continuations
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if cur.Len() != 0 {
		return nil, fmt.Errorf("line %d: unterminated continuation", start)
	}
	if len(d.Stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return d, nil
}

func readDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	b, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDockerfile(string(b))
	if err != nil {
		t.Fatalf("%s: %v", dockerfilePath, err)
	}
	return d
}

// goBuild is one `go build` command line.
type goBuild struct {
	Env     []string // VAR=value assignments before the command
	Flags   []string // every flag but -o and its value
	Output  string
	Package string
}

// parseGoBuilds finds the `go build` commands in a shell command line:
// `&&`-separated, words separated by blanks, no quoting.
func parseGoBuilds(cmdline string) ([]goBuild, error) {
	var out []goBuild
	for _, seg := range strings.Split(cmdline, "&&") {
		words := strings.Fields(seg)
		i := 0
		for i < len(words) && strings.HasPrefix(words[i], "--") { // RUN options such as --mount=...
			i++
		}
		var b goBuild
		for i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-") {
			b.Env = append(b.Env, words[i])
			i++
		}
		if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
			continue
		}
		if strings.ContainsAny(seg, `'"`) {
			return nil, fmt.Errorf("quoted words in %q: not supported", seg)
		}
		for i += 2; i < len(words); i++ {
			switch w := words[i]; {
			case w == "-o":
				if i+1 == len(words) {
					return nil, fmt.Errorf("-o without a value in %q", seg)
				}
				i++
				b.Output = words[i]
			case strings.HasPrefix(w, "-"):
				b.Flags = append(b.Flags, w)
			case b.Package == "":
				b.Package = w
			default:
				return nil, fmt.Errorf("more than one package, or a flag value, in %q", seg)
			}
		}
		if b.Package == "" || b.Output == "" {
			return nil, fmt.Errorf("want -o and a package in %q", seg)
		}
		out = append(out, b)
	}
	return out, nil
}

// makeBuild returns the `go build` of the Makefile's build target.
func makeBuild(t *testing.T) goBuild {
	t.Helper()
	b, err := os.ReadFile(makefilePath)
	if err != nil {
		t.Fatal(err)
	}
	var recipe []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "build:"):
			in = true
		case in && strings.HasPrefix(line, "\t"):
			recipe = append(recipe, strings.TrimSpace(line))
		case in:
			in = false
		}
	}
	cmd := strings.NewReplacer("$(GO)", "go", "$(BIN)", ".bin", "$(CURDIR)", ".").Replace(strings.Join(recipe, " && "))
	builds, err := parseGoBuilds(cmd)
	if err != nil || len(builds) != 1 {
		t.Fatalf("%s: the build target's recipe %q: %d go build commands, %v", makefilePath, cmd, len(builds), err)
	}
	return builds[0]
}

func TestDockerfileBuildsLikeTheMakefile(t *testing.T) {
	t.Parallel()
	mk := makeBuild(t)
	if !slices.Contains(mk.Env, "CGO_ENABLED=0") || !slices.Contains(mk.Flags, "-trimpath") || mk.Package != "./cmd/ticketd" {
		t.Fatalf("the Makefile's build target changed shape: %+v", mk)
	}
	d := readDockerfile(t)
	pkgs := map[string]bool{}
	for _, s := range d.Stages {
		for _, run := range s.all("RUN") {
			builds, err := parseGoBuilds(run.Args)
			if err != nil {
				t.Fatalf("line %d: %v", run.Line, err)
			}
			for _, b := range builds {
				pkgs[b.Package] = true
				if !slices.Equal(sortedCopy(b.Env), sortedCopy(mk.Env)) || !slices.Equal(sortedCopy(b.Flags), sortedCopy(mk.Flags)) {
					t.Errorf("line %d: go build with env %q flags %q; the Makefile's build target uses env %q flags %q",
						run.Line, b.Env, b.Flags, mk.Env, mk.Flags)
				}
				if path.Base(b.Output) != path.Base(b.Package) {
					t.Errorf("line %d: %s is built as %s", run.Line, b.Package, b.Output)
				}
			}
		}
	}
	if !pkgs[mk.Package] || !pkgs["./examples/echo"] || len(pkgs) != 2 {
		t.Errorf("the Dockerfile builds %v, want %s and ./examples/echo", sorted(pkgs), mk.Package)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// The parsers see through the syntax the files use, and refuse what they
// cannot read rather than guess.
func TestBuildLineParser(t *testing.T) {
	t.Parallel()
	got, err := parseGoBuilds("--mount=type=cache,target=/go/pkg/mod CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags=-s -o /out/x ./cmd/x && go build -o y ./y")
	if err != nil || len(got) != 2 {
		t.Fatalf("parseGoBuilds: %v, %d builds", err, len(got))
	}
	if want := (goBuild{Env: []string{"CGO_ENABLED=0", "GOOS=linux"}, Flags: []string{"-trimpath", "-ldflags=-s"}, Output: "/out/x", Package: "./cmd/x"}); fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Errorf("parseGoBuilds = %+v, want %+v", got[0], want)
	}
	for _, bad := range []string{"go build -o x", "go build ./a ./b -o x", `go build -ldflags "-s -w" -o x ./x`} {
		if _, err := parseGoBuilds(bad); err == nil {
			t.Errorf("parseGoBuilds(%q) succeeded", bad)
		}
	}
	d, err := parseDockerfile("# syntax=docker/dockerfile:1\nARG V=1.2\nFROM img:${V} AS b\nRUN a \\\n  # inside\n  b\nFROM scratch\nUSER 1:1\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Stages) != 2 || d.Stages[0].From != "img:1.2" || d.Stages[0].Name != "b" || d.Stages[0].Instrs[0].Args != "a  b" || d.Stages[1].Instrs[0].Cmd != "USER" {
		t.Errorf("parseDockerfile: %+v %+v", d.Stages[0], d.Stages[1])
	}
	for _, bad := range []string{"RUN x\nFROM y\n", "FROM a\nRUN b \\", "FROM a b c d\n", "# only a comment\n"} {
		if _, err := parseDockerfile(bad); err == nil {
			t.Errorf("parseDockerfile(%q) succeeded", bad)
		}
	}
}

// runtimeStages are the images the Dockerfile ships: stage name → binary.
var runtimeStages = map[string]string{"ticketd": "/usr/local/bin/ticketd", "echo": "/usr/local/bin/echo"}

// imageUser returns the numeric uid the ticketd image runs as.
func imageUser(t *testing.T) int64 {
	t.Helper()
	users := readDockerfile(t).stage("ticketd").all("USER")
	if len(users) == 0 {
		t.Fatal("the ticketd stage has no USER")
	}
	uid, _, _ := strings.Cut(users[len(users)-1].Args, ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil {
		t.Fatalf("USER %q is not numeric", users[len(users)-1].Args)
	}
	return n
}

func TestDockerfileStages(t *testing.T) {
	t.Parallel()
	d := readDockerfile(t)
	if len(d.Stages) < 2 {
		t.Fatal("not a multi-stage build")
	}
	if last := d.Stages[len(d.Stages)-1]; last.Name != "ticketd" {
		t.Errorf("the default (last) stage is %q, want ticketd", last.Name)
	}
	goVersion := rootGoVersion(t)
	if from := d.Stages[0].From; from != "golang:"+goVersion {
		t.Errorf("the builder is %s, want golang:%s as in %s", from, goVersion, rootGoMod)
	}
	for name, bin := range runtimeStages {
		s := d.stage(name)
		if s == nil {
			t.Errorf("no stage %s", name)
			continue
		}
		if distroless := strings.HasPrefix(s.From, "gcr.io/distroless/static-") && strings.HasSuffix(s.From, ":nonroot"); !distroless && s.From != "scratch" {
			t.Errorf("stage %s is FROM %s, want distroless static nonroot or scratch", name, s.From)
		}
		users := s.all("USER")
		if len(users) == 0 {
			t.Errorf("stage %s has no USER", name)
		} else {
			u := users[len(users)-1].Args
			uid, gid, _ := strings.Cut(u, ":")
			n, err := strconv.Atoi(uid)
			_, gerr := strconv.Atoi(gid)
			if err != nil || n == 0 || gid != "" && gerr != nil {
				t.Errorf("stage %s: USER %q, want a numeric non-root uid (Kubernetes' runAsNonRoot needs a number)", name, u)
			}
		}
		if runs := s.all("RUN"); len(runs) != 0 {
			t.Errorf("stage %s has RUN at line %d: the image has no shell", name, runs[0].Line)
		}
		var entry []string
		if eps := s.all("ENTRYPOINT"); len(eps) != 1 || json.Unmarshal([]byte(eps[0].Args), &entry) != nil || len(entry) != 1 || entry[0] != bin {
			t.Errorf("stage %s: want ENTRYPOINT [%q] in exec form", name, bin)
		}
		copied := false
		for _, c := range s.all("COPY") {
			copied = copied || strings.HasSuffix(c.Args, " "+bin)
		}
		if !copied {
			t.Errorf("stage %s does not COPY %s", name, bin)
		}
		for _, e := range s.all("ENV") {
			for _, kv := range strings.Fields(e.Args) {
				v, _, _ := strings.Cut(kv, "=")
				checkVariable(t, "Dockerfile ENV", v)
				if secretSettings[v] {
					t.Errorf("the image bakes in the secret setting %s", v)
				}
			}
		}
	}
}

// rootGoVersion returns the main module's Go version as major.minor.
func rootGoVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(rootGoMod)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s has no go directive", rootGoMod)
	}
	return string(m[1])
}

// stageEnv returns the ENV values a stage sets.
func stageEnv(s *stage) map[string]string {
	out := map[string]string{}
	for _, e := range s.all("ENV") {
		for _, kv := range strings.Fields(e.Args) {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = v
		}
	}
	return out
}

func TestDockerfileHealthcheckAndPorts(t *testing.T) {
	t.Parallel()
	d := readDockerfile(t)
	s := d.stage("ticketd")
	if s == nil {
		t.Fatal("no ticketd stage")
	}
	hcs := s.all("HEALTHCHECK")
	if len(hcs) != 1 {
		t.Fatalf("the ticketd stage has %d HEALTHCHECKs, want 1", len(hcs))
	}
	opts, cmd, ok := strings.Cut(hcs[0].Args, "CMD ")
	var argv []string
	if !ok || json.Unmarshal([]byte(cmd), &argv) != nil || len(argv) < 2 || argv[0] != runtimeStages["ticketd"] || argv[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK %q: want CMD [%q, \"healthcheck\", ...] in exec form (no shell in the image)", hcs[0].Args, runtimeStages["ticketd"])
	}
	// The binary gives up after 2 s; Docker's timeout must leave it that.
	m := regexp.MustCompile(`--timeout=(\d+)s`).FindStringSubmatch(opts)
	if m == nil {
		t.Errorf("HEALTHCHECK has no --timeout in seconds: %q", opts)
	} else if n, _ := strconv.Atoi(m[1]); n <= 2 {
		t.Errorf("HEALTHCHECK --timeout=%ss does not exceed the check's own 2 s", m[1])
	}
	wantPorts := func(s *stage, addrs ...string) {
		env := stageEnv(s)
		var want []string
		for _, a := range addrs {
			want = append(want, strconv.Itoa(int(listenPort(t, env[a]))))
		}
		var got []string
		for _, e := range s.all("EXPOSE") {
			got = append(got, strings.Fields(e.Args)...)
		}
		if !slices.Equal(sortedCopy(got), sortedCopy(want)) {
			t.Errorf("stage %s EXPOSEs %v, but listens on %v (%v)", s.Name, got, want, addrs)
		}
	}
	wantPorts(s, "TICKETD_HTTP_ADDR", "TICKETD_GRPC_ADDR")
	wantPorts(d.stage("echo"), "ECHO_ADDR")
	for _, a := range []string{"TICKETD_HTTP_ADDR", "TICKETD_GRPC_ADDR"} {
		if v := stageEnv(s)[a]; !strings.HasPrefix(v, "0.0.0.0:") && !strings.HasPrefix(v, ":") && !strings.HasPrefix(v, "[::]:") {
			t.Errorf("%s=%s in the image: a container must listen beyond loopback", a, v)
		}
	}
}

func TestDockerignore(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(dockerignorePath)
	if err != nil {
		t.Fatal(err)
	}
	patterns := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns[line] = true
		}
	}
	for _, p := range []string{".git", ".bin"} {
		if !patterns[p] {
			t.Errorf("%s does not exclude %s", dockerignorePath, p)
		}
	}
	for _, p := range []string{"go.mod", "go.sum", "cmd", "internal", "*", "**", "*.go"} {
		if patterns[p] {
			t.Errorf("%s excludes %s, which the build needs", dockerignorePath, p)
		}
	}
}
