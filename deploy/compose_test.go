package deploy

import (
	"net"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

const composePath = "compose.yaml"

// composeFile is the part of the Compose specification compose.yaml uses;
// decoding is strict, so a key outside it fails the tests.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
}

type composeService struct {
	Image           string                      `json:"image"`
	Build           *composeBuild               `json:"build"`
	Command         []string                    `json:"command"`
	DependsOn       map[string]composeDependsOn `json:"depends_on"`
	Environment     map[string]string           `json:"environment"`
	Ports           []string                    `json:"ports"`
	Healthcheck     *composeHealthcheck         `json:"healthcheck"`
	StopGracePeriod string                      `json:"stop_grace_period"`
	ReadOnly        bool                        `json:"read_only"`
	CapDrop         []string                    `json:"cap_drop"`
	SecurityOpt     []string                    `json:"security_opt"`
}

type composeBuild struct {
	Context    string `json:"context"`
	Dockerfile string `json:"dockerfile"`
	Target     string `json:"target"`
}

type composeDependsOn struct {
	Condition string `json:"condition"`
}

type composeHealthcheck struct {
	Test        []string `json:"test"`
	Interval    string   `json:"interval"`
	Timeout     string   `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod string   `json:"start_period"`
}

func readCompose(t *testing.T) *composeFile {
	t.Helper()
	b, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		t.Fatalf("%s: %v", composePath, err)
	}
	return &c
}

func TestComposeServices(t *testing.T) {
	t.Parallel()
	c := readCompose(t)
	if got := sorted(c.Services); !slices.Equal(got, []string{"echo", "redis", "ticketd"}) {
		t.Fatalf("services %v, want echo, redis, ticketd", got)
	}
	redis := c.Services["redis"]
	if !strings.HasPrefix(redis.Image, "redis:7") {
		t.Errorf("redis image %q, want redis:7", redis.Image)
	}
	if cmd := strings.Join(redis.Command, " "); !strings.Contains(cmd, "--save  ") || !strings.Contains(cmd, "--appendonly no") {
		t.Errorf("redis command %q: want persistence off (--save \"\" --appendonly no)", redis.Command)
	}
	d := readDockerfile(t)
	for name, target := range map[string]string{"ticketd": "ticketd", "echo": "echo"} {
		s := c.Services[name]
		b := s.Build
		if b == nil || b.Target != target || d.stage(target) == nil {
			t.Errorf("%s: want a build of the Dockerfile's %s stage, got %+v", name, target, b)
			continue
		}
		// The context is the repository root; the Dockerfile is this one.
		if path.Clean(path.Join("deploy", b.Context, b.Dockerfile)) != "deploy/"+dockerfilePath || path.Clean(b.Context) != ".." {
			t.Errorf("%s: build context %q dockerfile %q, want .. and deploy/%s", name, b.Context, b.Dockerfile, dockerfilePath)
		}
		if !s.ReadOnly || !slices.Equal(s.CapDrop, []string{"ALL"}) || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: want read_only, cap_drop [ALL] and no-new-privileges", name)
		}
	}
	for name, dep := range map[string]string{"ticketd": "redis", "echo": "ticketd"} {
		if c.Services[name].DependsOn[dep].Condition != "service_healthy" {
			t.Errorf("%s does not wait for %s to be healthy", name, dep)
		}
	}
}

func TestComposeHealthchecks(t *testing.T) {
	t.Parallel()
	c := readCompose(t)
	for _, name := range []string{"redis", "ticketd"} {
		hc := c.Services[name].Healthcheck
		if hc == nil || len(hc.Test) < 2 || hc.Test[0] != "CMD" {
			t.Errorf("%s: want a healthcheck in exec form [CMD, ...], got %+v", name, hc)
			continue
		}
		timeout, err := time.ParseDuration(hc.Timeout)
		if err != nil || timeout <= 2*time.Second || hc.Retries < 1 {
			t.Errorf("%s: healthcheck timeout %q, retries %d: want more than 2s and at least one retry", name, hc.Timeout, hc.Retries)
		}
	}
	td := c.Services["ticketd"]
	test := td.Healthcheck.Test
	if len(test) != 4 || test[1] != runtimeStages["ticketd"] || test[2] != "healthcheck" {
		t.Fatalf("ticketd healthcheck %q: want [CMD %s healthcheck URL]", test, runtimeStages["ticketd"])
	}
	u, err := url.Parse(test[3])
	if err != nil || u.Path != "/readyz" || u.Hostname() != "127.0.0.1" {
		t.Errorf("ticketd healthcheck URL %q: want http://127.0.0.1:PORT/readyz", test[3])
	} else if _, port, _ := net.SplitHostPort(td.Environment["TICKETD_HTTP_ADDR"]); u.Port() != port {
		t.Errorf("ticketd healthcheck checks port %s, but TICKETD_HTTP_ADDR is %s", u.Port(), td.Environment["TICKETD_HTTP_ADDR"])
	}
}

func TestComposeEnvironment(t *testing.T) {
	t.Parallel()
	c := readCompose(t)
	for name, s := range c.Services {
		for v := range s.Environment {
			checkVariable(t, composePath+" "+name, v)
		}
	}
	td, echo := c.Services["ticketd"].Environment, c.Services["echo"].Environment

	// ticketd reaches the redis service; echo reaches ticketd's gRPC port.
	if u, err := url.Parse(td["TICKETD_REDIS_URL"]); err != nil || u.Hostname() != "redis" {
		t.Errorf("TICKETD_REDIS_URL %q does not point at the redis service", td["TICKETD_REDIS_URL"])
	}
	_, grpcPort, _ := net.SplitHostPort(td["TICKETD_GRPC_ADDR"])
	if echo["ECHO_TICKETD"] != "ticketd:"+grpcPort {
		t.Errorf("ECHO_TICKETD %q, want ticketd:%s", echo["ECHO_TICKETD"], grpcPort)
	}
	if !slices.Contains(strings.Split(td["TICKETD_SERVICE_KEYS"], ","), echo["ECHO_SERVICE_KEY"]) {
		t.Error("echo's ECHO_SERVICE_KEY is not one of ticketd's TICKETD_SERVICE_KEYS")
	}
	if echo["ECHO_ORIGINS"] != td["TICKETD_ALLOWED_ORIGINS"] || echo["ECHO_AUDIENCE"] == "" {
		t.Errorf("echo's origins %q differ from ticketd's %q, or no audience", echo["ECHO_ORIGINS"], td["TICKETD_ALLOWED_ORIGINS"])
	}
	// The trial secrets are marked as such, and good enough for ticketd to
	// start with them.
	for _, v := range []string{"TICKETD_JWT_HS256_SECRET", "TICKETD_SERVICE_KEYS"} {
		if !strings.HasPrefix(td[v], "LOCAL-TRIAL-ONLY-") {
			t.Errorf("%s is not marked LOCAL-TRIAL-ONLY", v)
		}
	}
	if len(td["TICKETD_JWT_HS256_SECRET"]) < 32 || len(echo["ECHO_SERVICE_KEY"]) < 16 {
		t.Error("a trial secret is too short: ticketd would refuse to start")
	}
	grace := td["TICKETD_SHUTDOWN_GRACE"]
	if grace == "" {
		grace = ticketdDefault(t, "TICKETD_SHUTDOWN_GRACE")
	}
	g, err1 := time.ParseDuration(grace)
	stop, err2 := time.ParseDuration(c.Services["ticketd"].StopGracePeriod)
	if err1 != nil || err2 != nil || stop <= g {
		t.Errorf("ticketd stop_grace_period %q is not above TICKETD_SHUTDOWN_GRACE %q", c.Services["ticketd"].StopGracePeriod, grace)
	}
}

// Published ports are on loopback only, and each is a port the container
// listens on.
func TestComposePorts(t *testing.T) {
	t.Parallel()
	c := readCompose(t)
	listens := map[string][]string{
		"ticketd": {c.Services["ticketd"].Environment["TICKETD_HTTP_ADDR"], c.Services["ticketd"].Environment["TICKETD_GRPC_ADDR"]},
		"echo":    {c.Services["echo"].Environment["ECHO_ADDR"]},
		"redis":   nil,
	}
	for name, addrs := range listens {
		var want []string
		for _, a := range addrs {
			_, p, err := net.SplitHostPort(a)
			if err != nil {
				t.Fatalf("%s listens on %q: %v", name, a, err)
			}
			want = append(want, p)
		}
		var got []string
		for _, p := range c.Services[name].Ports {
			f := strings.Split(p, ":")
			if len(f) != 3 || f[0] != "127.0.0.1" {
				t.Errorf("%s publishes %q: want 127.0.0.1:HOST:CONTAINER", name, p)
				continue
			}
			got = append(got, f[2])
		}
		if !slices.Equal(sortedCopy(got), sortedCopy(want)) {
			t.Errorf("%s publishes container ports %v, listens on %v", name, got, want)
		}
	}
}
