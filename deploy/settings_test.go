package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Paths of the sources whose settings the deployment files must match,
// relative to deploy/.
const (
	ticketdConfigGo = "../internal/ticketd/config.go"
	echoMainGo      = "../examples/echo/main.go"
)

// secretSettings are the TICKETD_* variables that hold secrets: they live
// in a Secret, never in a ConfigMap or an image.
var secretSettings = map[string]bool{
	"TICKETD_JWT_HS256_SECRET": true,
	"TICKETD_SERVICE_KEYS":     true,
	"TICKETD_REDIS_URL":        true, // may carry a password
	"TICKETD_TICKET_KEYS":      true,
}

// pendingSettings are TICKETD_* variables the manifests already use whose
// settings are being added to internal/ticketd/config.go. A name may stay
// here only while config.go lacks it: TestPendingSettingsStillPending fails
// once it lands, so the list empties itself.
var pendingSettings = map[string]bool{}

// otherVariables are non-TICKETD_ variables the files may set.
var otherVariables = map[string]bool{"GOMEMLIMIT": true}

var (
	ticketdOnce     sync.Once
	ticketdDefaults map[string]string
	ticketdErr      error
)

// ticketdSettings returns every TICKETD_* variable config.go declares, with
// its default: the `env:` and `def:` fields of its settings table's
// composite literals.
func ticketdSettings(t *testing.T) map[string]string {
	t.Helper()
	ticketdOnce.Do(func() {
		ticketdDefaults = map[string]string{}
		ticketdErr = walkGo(ticketdConfigGo, func(n ast.Node) {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return
			}
			fields := map[string]string{}
			for _, e := range lit.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, ok := kv.Key.(*ast.Ident)
				if !ok {
					continue
				}
				if s, ok := stringLit(kv.Value); ok {
					fields[key.Name] = s
				}
			}
			if env, ok := fields["env"]; ok {
				ticketdDefaults[env] = fields["def"]
			}
		})
	})
	if ticketdErr != nil {
		t.Fatal(ticketdErr)
	}
	if len(ticketdDefaults) < 10 || ticketdDefaults["TICKETD_SHUTDOWN_GRACE"] == "" {
		t.Fatalf("%s: found only %q: has the settings table changed shape?", ticketdConfigGo, sorted(ticketdDefaults))
	}
	return ticketdDefaults
}

// ticketdDefault returns the default of the TICKETD_* variable name.
func ticketdDefault(t *testing.T, name string) string {
	t.Helper()
	def, ok := ticketdSettings(t)[name]
	if !ok {
		t.Fatalf("%s is not in %s", name, ticketdConfigGo)
	}
	return def
}

// echoSettings returns the ECHO_* variables examples/echo reads: the first
// argument of its env("ECHO_...", default) calls.
func echoSettings(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := walkGo(echoMainGo, func(n ast.Node) {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return
		}
		if s, ok := stringLit(call.Args[0]); ok && strings.HasPrefix(s, "ECHO_") {
			names[s] = true
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !names["ECHO_SERVICE_KEY"] || !names["ECHO_TICKETD"] {
		t.Fatalf("%s: found only %q: has the flag parsing changed shape?", echoMainGo, sorted(names))
	}
	return names
}

func walkGo(path string, visit func(ast.Node)) error {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if n != nil {
			visit(n)
		}
		return true
	})
	return nil
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func sorted[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkVariable fails t unless name is a variable ticketd, examples/echo
// or the Go runtime reads. where says which file set it.
func checkVariable(t *testing.T, where, name string) {
	t.Helper()
	if problem := variableProblem(t, name); problem != "" {
		t.Errorf("%s sets %s, %s", where, name, problem)
	}
}

// variableProblem says why nothing reads the variable name, or "".
func variableProblem(t *testing.T, name string) string {
	t.Helper()
	switch {
	case strings.HasPrefix(name, "TICKETD_"):
		if _, ok := ticketdSettings(t)[name]; !ok && !pendingSettings[name] {
			return "which is no setting of " + ticketdConfigGo
		}
	case strings.HasPrefix(name, "ECHO_"):
		if !echoSettings(t)[name] {
			return "which " + echoMainGo + " does not read"
		}
	case !otherVariables[name]:
		return "which nothing reads"
	}
	return ""
}

func TestPendingSettingsStillPending(t *testing.T) {
	t.Parallel()
	names := ticketdSettings(t)
	for name := range pendingSettings {
		if _, ok := names[name]; ok {
			t.Errorf("%s is now in %s: remove it from pendingSettings", name, ticketdConfigGo)
		}
	}
	for name := range secretSettings {
		if _, ok := names[name]; !ok {
			t.Errorf("secret setting %s is not in %s", name, ticketdConfigGo)
		}
	}
}

// The parser finds names in a settings table of config.go's shape, and
// checkVariable refuses a name that is not there.
func TestSettingsParser(t *testing.T) {
	t.Parallel()
	names := ticketdSettings(t)
	for _, want := range []string{"TICKETD_GRPC_ADDR", "TICKETD_SHUTDOWN_GRACE", "TICKETD_JWT_HS256_SECRET", "TICKETD_DEV"} {
		if _, ok := names[want]; !ok {
			t.Errorf("%s not found in %s", want, ticketdConfigGo)
		}
	}
	for _, absent := range []string{"TICKETD_NO_SUCH_SETTING", "ticket-ttl", "http-addr"} {
		if _, ok := names[absent]; ok {
			t.Errorf("the parser reports %q, which is not an env field", absent)
		}
	}
	if g, err := time.ParseDuration(names["TICKETD_SHUTDOWN_GRACE"]); err != nil || g <= 0 {
		t.Errorf("TICKETD_SHUTDOWN_GRACE default %q read from %s is not a duration", names["TICKETD_SHUTDOWN_GRACE"], ticketdConfigGo)
	}
	if !strings.Contains(names["TICKETD_HTTP_ADDR"], ":") || names["TICKETD_REDIS_URL"] != "" {
		t.Errorf("defaults read from %s: http %q, redis %q", ticketdConfigGo, names["TICKETD_HTTP_ADDR"], names["TICKETD_REDIS_URL"])
	}
	for name, ok := range map[string]bool{
		"TICKETD_TICKET_TTL": true, "TICKETD_NO_SUCH_SETTING": false, "TICKETD_PORT": false,
		"ECHO_ADDR": true, "ECHO_NO_SUCH_SETTING": false, "GOMEMLIMIT": true, "REDIS_URL": false,
	} {
		if got := variableProblem(t, name) == ""; got != ok {
			t.Errorf("variableProblem(%s) = %q, want accepted=%v", name, variableProblem(t, name), ok)
		}
	}
}
