package deploy

import (
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// forEachKustomization runs check on each rendered kustomization, in
// parallel subtests.
func forEachKustomization(t *testing.T, check func(t *testing.T, r *rendered)) {
	t.Helper()
	t.Parallel()
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			check(t, decode(t, dir))
		})
	}
}

// containerPort resolves a port (a name or a number) to a port of c.
func containerPort(c *corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

// listenPort returns the port of a host:port listen address.
func listenPort(t *testing.T, addr string) int32 {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	p, err := strconv.ParseInt(addr[i+1:], 10, 32)
	if i < 0 || err != nil {
		t.Fatalf("listen address %q has no port", addr)
	}
	return int32(p)
}

// setting returns the value ticketd sees for name: the rendered value, or
// config.go's default.
func (r *rendered) setting(t *testing.T, name string) string {
	t.Helper()
	if v, ok := r.env(t)[name]; ok {
		return v
	}
	return ticketdDefault(t, name)
}

func (r *rendered) tls(t *testing.T) bool {
	t.Helper()
	return r.env(t)["TICKETD_TLS_CERT_FILE"] != ""
}

func TestProbesMatchPorts(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		c := r.container(t)
		for name, setting := range map[string]string{"http": "TICKETD_HTTP_ADDR", "grpc": "TICKETD_GRPC_ADDR"} {
			cp, ok := containerPort(c, intstr.FromString(name))
			if !ok {
				t.Fatalf("no container port named %s", name)
			}
			if want := listenPort(t, r.setting(t, setting)); cp.ContainerPort != want {
				t.Errorf("container port %s is %d, but %s listens on %d", name, cp.ContainerPort, setting, want)
			}
			if cp.Protocol != corev1.ProtocolTCP {
				t.Errorf("container port %s: protocol %q", name, cp.Protocol)
			}
		}
		wantScheme := corev1.URISchemeHTTP
		if r.tls(t) {
			wantScheme = corev1.URISchemeHTTPS
		}
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{
			{"liveness", c.LivenessProbe, "/healthz"},
			{"readiness", c.ReadinessProbe, "/readyz"},
			{"startup", c.StartupProbe, "/healthz"},
		} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("%s probe: want an httpGet probe", p.name)
				continue
			}
			g := p.probe.HTTPGet
			if g.Path != p.path {
				t.Errorf("%s probe path %q, want %q", p.name, g.Path, p.path)
			}
			if cp, ok := containerPort(c, g.Port); !ok || cp.Name != "http" {
				t.Errorf("%s probe port %s is not the http container port", p.name, g.Port.String())
			}
			scheme := g.Scheme
			if scheme == "" {
				scheme = corev1.URISchemeHTTP
			}
			if scheme != wantScheme {
				t.Errorf("%s probe scheme %s, want %s (TLS configured: %v)", p.name, scheme, wantScheme, r.tls(t))
			}
			if p.probe.PeriodSeconds <= 0 || p.probe.FailureThreshold <= 0 {
				t.Errorf("%s probe: period %d, failure threshold %d", p.name, p.probe.PeriodSeconds, p.probe.FailureThreshold)
			}
		}
	})
}

func TestSecurityContext(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		spec := r.Deployment.Spec.Template.Spec
		pod, sc := spec.SecurityContext, r.container(t).SecurityContext
		if pod == nil || sc == nil {
			t.Fatal("want both a pod and a container securityContext")
		}
		uid := imageUser(t)
		switch {
		case pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot:
			t.Error("pod: runAsNonRoot is not true")
		case pod.RunAsUser == nil || *pod.RunAsUser != uid:
			t.Errorf("pod: runAsUser is not the image's user %d", uid)
		case sc.RunAsUser == nil || *sc.RunAsUser != uid || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
			t.Errorf("container: runAsUser is not %d, or runAsNonRoot is not true", uid)
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Error("container: readOnlyRootFilesystem is not true")
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Error("container: allowPrivilegeEscalation is not false")
		case sc.Privileged != nil && *sc.Privileged:
			t.Error("container: privileged")
		case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0:
			t.Errorf("container: capabilities %+v, want drop [ALL] and no add", sc.Capabilities)
		case pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Error("pod: seccompProfile is not RuntimeDefault")
		case sc.SeccompProfile != nil && sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Error("container: seccompProfile overrides RuntimeDefault")
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Error("the pod mounts a service account token; ticketd does not call the Kubernetes API")
		}
		if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
			t.Error("enableServiceLinks is not false: Service links add TICKETD_* variables")
		}
		if spec.HostNetwork || spec.HostPID || spec.HostIPC {
			t.Error("the pod shares a host namespace")
		}
		if got := r.Namespace.Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
			t.Errorf("namespace enforces Pod Security %q, want restricted", got)
		}
	})
}

func TestResources(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		c := r.container(t)
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := c.Resources.Requests[name]
			lim, okLim := c.Resources.Limits[name]
			if !okReq || !okLim || req.Sign() <= 0 || lim.Sign() <= 0 {
				t.Errorf("%s: want a positive request and limit, got %v and %v", name, req.String(), lim.String())
				continue
			}
			if req.Cmp(lim) > 0 {
				t.Errorf("%s: request %s above limit %s", name, req.String(), lim.String())
			}
		}
		limit := c.Resources.Limits[corev1.ResourceMemory]
		gomem, err := parseGoMemLimit(r.env(t)["GOMEMLIMIT"])
		if err != nil {
			t.Fatalf("GOMEMLIMIT: %v", err)
		}
		if lim := limit.Value(); gomem < lim/2 || gomem > lim*95/100 {
			t.Errorf("GOMEMLIMIT %d bytes is not 50-95%% of the memory limit %s", gomem, limit.String())
		}
		if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || !strings.ContainsAny(path.Base(c.Image), ":@") {
			t.Errorf("image %q: want a pinned tag or digest", c.Image)
		}
	})
}

// parseGoMemLimit parses the Go runtime's GOMEMLIMIT syntax: bytes, or a
// number with B, KiB, MiB, GiB or TiB.
func parseGoMemLimit(s string) (int64, error) {
	mult := int64(1)
	for i, suffix := range []string{"TiB", "GiB", "MiB", "KiB", "B"} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = n, int64(1)<<(10*(4-i))
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func TestGoMemLimitParser(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"230MiB": 230 << 20, "1GiB": 1 << 30, "512": 512, "10B": 10, "3KiB": 3 << 10} {
		if got, err := parseGoMemLimit(in); err != nil || got != want {
			t.Errorf("parseGoMemLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseGoMemLimit("230Mi"); err == nil {
		t.Error("parseGoMemLimit accepted the Kubernetes quantity 230Mi, which Go does not")
	}
}

func TestEnvironmentNamesAreSettings(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		for name := range r.ConfigMap.Data {
			checkVariable(t, r.Dir+" ConfigMap", name)
		}
		for name := range r.Secret.Data {
			checkVariable(t, r.Dir+" Secret", name)
		}
		for _, e := range r.container(t).Env {
			checkVariable(t, r.Dir+" container env", e.Name)
		}
		// Each setting's value must parse as ticketd parses it.
		for name, v := range r.ConfigMap.Data {
			if strings.HasSuffix(name, "_GRACE") || strings.HasSuffix(name, "_TTL") {
				if _, err := time.ParseDuration(v); err != nil {
					t.Errorf("%s=%q: %v", name, v, err)
				}
			}
		}
	})
}

func TestSecretsStayInTheSecret(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		for name, v := range r.ConfigMap.Data {
			if secretSettings[name] {
				t.Errorf("ConfigMap holds the secret setting %s", name)
			}
			if u, err := url.Parse(v); err == nil && (u.User != nil || u.Query().Has("password")) {
				t.Errorf("ConfigMap %s holds a URL with credentials", name)
			}
		}
		for name := range r.Secret.Data {
			if !secretSettings[name] {
				t.Errorf("Secret holds %s, which is not secret: move it to config.env", name)
			}
		}
		for name := range secretSettings {
			if _, ok := r.Secret.Data[name]; !ok {
				t.Errorf("Secret lacks %s", name)
			}
		}
		for _, e := range r.container(t).Env {
			if secretSettings[e.Name] {
				t.Errorf("container env sets the secret setting %s outside the Secret", e.Name)
			}
		}
	})
}

// The committed Secret values are placeholders ticketd refuses, so applying
// the manifests unchanged fails closed instead of running with a published
// secret.
func TestSecretPlaceholdersFailClosed(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		for name, v := range r.Secret.Data {
			if !strings.Contains(string(v), "REPLACE-ME") {
				t.Errorf("Secret %s is not an obvious placeholder", name)
			}
		}
		if n := len(r.Secret.Data["TICKETD_JWT_HS256_SECRET"]); n >= 32 {
			t.Errorf("the placeholder HS256 secret has %d bytes: ticketd would accept it", n)
		}
		for _, k := range strings.Split(string(r.Secret.Data["TICKETD_SERVICE_KEYS"]), ",") {
			if len(k) >= 16 {
				t.Errorf("the placeholder service key %q is long enough for ticketd to accept", k)
			}
		}
	})
}

func TestShutdownFitsTheGracePeriod(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		grace, err := time.ParseDuration(r.setting(t, "TICKETD_SHUTDOWN_GRACE"))
		if err != nil {
			t.Fatal(err)
		}
		var preStop time.Duration
		if l := r.container(t).Lifecycle; l != nil && l.PreStop != nil {
			if l.PreStop.Sleep == nil {
				t.Fatal("preStop is not a sleep action (the image has no shell)")
			}
			preStop = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
		}
		tgps := r.Deployment.Spec.Template.Spec.TerminationGracePeriodSeconds
		if tgps == nil {
			t.Fatal("no terminationGracePeriodSeconds")
		}
		if time.Duration(*tgps)*time.Second <= preStop+grace {
			t.Errorf("terminationGracePeriodSeconds %d is not above preStop %v + TICKETD_SHUTDOWN_GRACE %v", *tgps, preStop, grace)
		}
	})
}

// selects reports whether sel, which must not be empty, matches set.
func selects(t *testing.T, what string, sel *metav1.LabelSelector, set map[string]string) bool {
	t.Helper()
	if sel == nil || len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 {
		t.Errorf("%s: empty selector (it selects everything)", what)
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return false
	}
	return s.Matches(labels.Set(set))
}

func TestLabelsAndSelectorsAgree(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		d := r.Deployment
		pods := d.Spec.Template.Labels
		if !selects(t, "Deployment selector", d.Spec.Selector, pods) {
			t.Error("the Deployment's selector does not match its pod template")
		}
		if len(r.Service.Spec.Selector) == 0 || !labels.SelectorFromSet(r.Service.Spec.Selector).Matches(labels.Set(pods)) {
			t.Error("the Service's selector does not match the pods")
		}
		if !selects(t, "PodDisruptionBudget selector", r.PDB.Spec.Selector, pods) {
			t.Error("the PodDisruptionBudget does not select the pods")
		}
		if !selects(t, "NetworkPolicy podSelector", &r.NetworkPolicy.Spec.PodSelector, pods) {
			t.Error("the NetworkPolicy does not select the pods")
		}
		ref := r.HPA.Spec.ScaleTargetRef
		if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
			t.Errorf("the HPA scales %s %s %s, not the Deployment %s", ref.APIVersion, ref.Kind, ref.Name, d.Name)
		}
		if !selects(t, "ServiceMonitor selector", &r.ServiceMonitor.Spec.Selector, r.Service.Labels) {
			t.Error("the ServiceMonitor does not select the Service")
		}
		topologyKeys := map[string]bool{}
		for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
			if !selects(t, "topology spread "+c.TopologyKey, c.LabelSelector, pods) {
				t.Errorf("the %s spread does not count the pods", c.TopologyKey)
			}
			if topologyKeys[c.TopologyKey] {
				t.Errorf("two spread constraints on %s", c.TopologyKey)
			}
			topologyKeys[c.TopologyKey] = true
		}
		if !topologyKeys["topology.kubernetes.io/zone"] || !topologyKeys["kubernetes.io/hostname"] {
			t.Errorf("spread over %v, want zones and hosts", sorted(topologyKeys))
		}
	})
}

func TestServicePorts(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		c := r.container(t)
		want := map[string]struct {
			port        int32
			appProtocol string
		}{
			"http": {8080, "http"},
			"grpc": {9090, "grpc"},
		}
		if r.tls(t) {
			want["http"] = struct {
				port        int32
				appProtocol string
			}{8080, "https"}
		}
		if len(r.Service.Spec.Ports) != len(want) {
			t.Errorf("Service has %d ports, want %d", len(r.Service.Spec.Ports), len(want))
		}
		for _, p := range r.Service.Spec.Ports {
			w, ok := want[p.Name]
			if !ok {
				t.Errorf("unexpected Service port %s", p.Name)
				continue
			}
			if p.AppProtocol == nil {
				t.Errorf("Service port %s has no appProtocol", p.Name)
			} else if p.Port != w.port || *p.AppProtocol != w.appProtocol {
				t.Errorf("Service port %s: %d appProtocol %s, want %d appProtocol %s", p.Name, p.Port, *p.AppProtocol, w.port, w.appProtocol)
			}
			if cp, ok := containerPort(c, p.TargetPort); !ok || cp.Name != p.Name {
				t.Errorf("Service port %s targets %s, not the container port %s", p.Name, p.TargetPort.String(), p.Name)
			}
		}
	})
}

func TestScaling(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		d := r.Deployment
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Fatalf("replicas %v, want at least 2", d.Spec.Replicas)
		}
		replicas := *d.Spec.Replicas
		// More than one replica needs the shared store.
		if u := r.Secret.Data["TICKETD_REDIS_URL"]; len(u) == 0 {
			t.Error("more than one replica without TICKETD_REDIS_URL: the embedded store supports one replica only")
		}
		if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
			t.Error("a rolling update may take a serving pod away before its replacement is ready")
		}
		hpa := r.HPA.Spec
		if hpa.MinReplicas == nil || *hpa.MinReplicas != replicas || hpa.MaxReplicas <= replicas {
			t.Errorf("HPA %v..%d, want min = the Deployment's %d and a higher max", hpa.MinReplicas, hpa.MaxReplicas, replicas)
		}
		cpu := false
		for _, m := range hpa.Metrics {
			if m.Resource != nil && m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.AverageUtilization != nil {
				u := *m.Resource.Target.AverageUtilization
				cpu = u > 0 && u <= 90
			}
		}
		if !cpu {
			t.Error("the HPA has no CPU utilization target in (0, 90]")
		}
		pdb := r.PDB.Spec
		switch {
		case pdb.MaxUnavailable != nil:
			if v := pdb.MaxUnavailable.IntValue(); v < 1 || int32(v) >= replicas {
				t.Errorf("PDB maxUnavailable %s with %d replicas", pdb.MaxUnavailable.String(), replicas)
			}
		case pdb.MinAvailable != nil:
			if v := pdb.MinAvailable.IntValue(); v < 1 || int32(v) >= replicas {
				t.Errorf("PDB minAvailable %s with %d replicas blocks every drain or protects nothing", pdb.MinAvailable.String(), replicas)
			}
		default:
			t.Error("the PDB sets neither maxUnavailable nor minAvailable")
		}
	})
}

func TestNetworkPolicy(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		np := r.NetworkPolicy.Spec
		types := map[string]bool{}
		for _, pt := range np.PolicyTypes {
			types[string(pt)] = true
		}
		if !types["Ingress"] || !types["Egress"] {
			t.Fatalf("policyTypes %v, want Ingress and Egress", np.PolicyTypes)
		}
		c := r.container(t)
		if len(np.Ingress) == 0 {
			t.Error("no ingress rule: nothing could reach ticketd")
		}
		for i, rule := range np.Ingress {
			if len(rule.From) == 0 || len(rule.Ports) == 0 {
				t.Errorf("ingress rule %d admits every source or every port", i)
			}
			for _, peer := range rule.From {
				empty := func(s *metav1.LabelSelector) bool {
					return s == nil || len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
				}
				if peer.IPBlock != nil || empty(peer.NamespaceSelector) && empty(peer.PodSelector) {
					t.Errorf("ingress rule %d admits a peer by address or an unlabelled one: %+v", i, peer)
				}
			}
			for _, p := range rule.Ports {
				if p.Port == nil {
					t.Errorf("ingress rule %d admits every port", i)
					continue
				}
				if cp, ok := containerPort(c, *p.Port); !ok || cp.Name != "http" && cp.Name != "grpc" {
					t.Errorf("ingress rule %d admits port %s, not ticketd's http or grpc", i, p.Port.String())
				}
			}
		}
		allowed := map[int]bool{53: true, 6379: true, 26379: true}
		egress := map[string]bool{}
		for i, rule := range np.Egress {
			if len(rule.To) == 0 || len(rule.Ports) == 0 {
				t.Errorf("egress rule %d allows every destination or every port", i)
			}
			for _, p := range rule.Ports {
				if p.Port == nil || !allowed[p.Port.IntValue()] {
					t.Errorf("egress rule %d allows port %v: want DNS and Redis only", i, p.Port)
					continue
				}
				egress[p.Port.String()] = true
			}
		}
		if !egress["53"] || !egress["6379"] {
			t.Errorf("egress to ports %v, want DNS (53) and Redis (6379)", sorted(egress))
		}
		if strings.Contains(redisScheme(string(r.Secret.Data["TICKETD_REDIS_URL"])), "+sentinel") && !egress["26379"] {
			t.Error("a Sentinel URL, but no egress to the sentinels' port 26379")
		}
	})
}

func TestServiceMonitor(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		eps := r.ServiceMonitor.Spec.Endpoints
		if len(eps) != 1 {
			t.Fatalf("%d ServiceMonitor endpoints, want 1", len(eps))
		}
		ep := eps[0]
		if ep.Port != "http" || ep.Path != "/metrics" {
			t.Errorf("ServiceMonitor scrapes port %q path %q, want http /metrics", ep.Port, ep.Path)
		}
		if err := ep.HTTPConfigWithProxyAndTLSFiles.Validate(); err != nil {
			t.Error(err)
		}
		scheme := "http"
		if ep.Scheme != nil {
			scheme = strings.ToLower(string(*ep.Scheme))
		}
		if want := map[bool]string{false: "http", true: "https"}[r.tls(t)]; scheme != want {
			t.Errorf("ServiceMonitor scheme %s, want %s", scheme, want)
		}
		if scheme == "https" {
			tc := ep.TLSConfig
			if tc == nil || tc.CA.Secret == nil && tc.CA.ConfigMap == nil || tc.ServerName == nil || *tc.ServerName == "" ||
				tc.InsecureSkipVerify != nil && *tc.InsecureSkipVerify {
				t.Errorf("ServiceMonitor over https: want a CA and a server name, and verification on; got %+v", tc)
			}
		}
	})
}

// TLS files come from a read-only volume of Secrets, not readable by others.
func TestTLSFilesFromReadOnlySecretVolume(t *testing.T) {
	forEachKustomization(t, func(t *testing.T, r *rendered) {
		env := r.env(t)
		spec := r.Deployment.Spec.Template.Spec
		c := r.container(t)
		files := []string{}
		for _, name := range []string{"TICKETD_TLS_CERT_FILE", "TICKETD_TLS_KEY_FILE", "TICKETD_TLS_CLIENT_CA_FILE"} {
			if f := env[name]; f != "" {
				files = append(files, f)
			}
		}
		if !r.tls(t) {
			if len(files) != 0 || len(spec.Volumes) != 0 {
				t.Errorf("no TLS certificate, yet TLS files %v or volumes %d", files, len(spec.Volumes))
			}
			return
		}
		if env["TICKETD_TLS_KEY_FILE"] == "" {
			t.Error("a TLS certificate without TICKETD_TLS_KEY_FILE")
		}
		for _, f := range files {
			var mount *corev1.VolumeMount
			for i, m := range c.VolumeMounts {
				if path.Dir(f) == path.Clean(m.MountPath) {
					mount = &c.VolumeMounts[i]
				}
			}
			if mount == nil {
				t.Errorf("%s is on no mounted volume", f)
				continue
			}
			if !mount.ReadOnly {
				t.Errorf("volume %s is mounted read-write", mount.Name)
			}
			var vol *corev1.Volume
			for i := range spec.Volumes {
				if spec.Volumes[i].Name == mount.Name {
					vol = &spec.Volumes[i]
				}
			}
			if vol == nil {
				t.Fatalf("volume %s is mounted but not declared", mount.Name)
			}
			found := false
			var mode *int32
			switch {
			case vol.Secret != nil:
				mode = vol.Secret.DefaultMode
				for _, it := range vol.Secret.Items {
					found = found || it.Path == path.Base(f)
				}
			case vol.Projected != nil:
				mode = vol.Projected.DefaultMode
				for _, src := range vol.Projected.Sources {
					if src.Secret == nil {
						t.Errorf("volume %s projects something other than a Secret", vol.Name)
						continue
					}
					for _, it := range src.Secret.Items {
						found = found || it.Path == path.Base(f)
					}
				}
			default:
				t.Errorf("volume %s is not made of Secrets", vol.Name)
			}
			if !found {
				t.Errorf("no Secret item of volume %s lands at %s", vol.Name, f)
			}
			if mode == nil || *mode&0o007 != 0 {
				t.Errorf("volume %s files are readable by others (defaultMode %v)", vol.Name, mode)
			}
		}
	})
}

// redisScheme returns the scheme of a TICKETD_REDIS_URL.
func redisScheme(u string) string {
	scheme, _, _ := strings.Cut(u, "://")
	return scheme
}

// sentinelURL splits a TICKETD_REDIS_URL of the Sentinel form,
// redis+sentinel://[[user]:password@]host:port[,host:port...]/<master>,
// into its Sentinel addresses and master name.
func sentinelURL(raw string) (sentinels []string, master string, ok bool) {
	scheme, rest, _ := strings.Cut(raw, "://")
	if scheme != "redis+sentinel" && scheme != "rediss+sentinel" {
		return nil, "", false
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	hosts, path, _ := strings.Cut(rest, "/")
	master, _, _ = strings.Cut(path, "?")
	for _, h := range strings.Split(hosts, ",") {
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return nil, "", false
		}
		sentinels = append(sentinels, h)
	}
	return sentinels, master, master != "" && !strings.Contains(master, "/")
}

func TestSentinelURLParser(t *testing.T) {
	t.Parallel()
	s, m, ok := sentinelURL("redis+sentinel://:pw@a:26379,b:26379/mymaster?db=1")
	if !ok || m != "mymaster" || len(s) != 2 || s[1] != "b:26379" {
		t.Errorf("sentinelURL = %v %q %v", s, m, ok)
	}
	for _, bad := range []string{"redis://a:6379/0", "redis+sentinel://a/m", "redis+sentinel://a:26379/", "redis+cluster://a:1,b:2"} {
		if _, _, ok := sentinelURL(bad); ok {
			t.Errorf("sentinelURL(%q) accepted", bad)
		}
	}
}

// The production overlay's Redis URL is the Sentinel form, over three
// Sentinels, and it raises replicas and resources over the base.
func TestProductionUsesSentinel(t *testing.T) {
	t.Parallel()
	r := decode(t, "kustomize/overlays/production")
	if s, m, ok := sentinelURL(string(r.Secret.Data["TICKETD_REDIS_URL"])); !ok || len(s) != 3 {
		t.Errorf("TICKETD_REDIS_URL is not a Sentinel URL over three Sentinels: %d Sentinels, master %q", len(s), m)
	}
	base := decode(t, "kustomize/base")
	bc, pc := base.container(t).Resources, r.container(t).Resources
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		preq, plim := pc.Requests[name], pc.Limits[name]
		if preq.Cmp(bc.Requests[name]) <= 0 || plim.Cmp(bc.Limits[name]) <= 0 {
			t.Errorf("production does not raise the %s request and limit", name)
		}
	}
	if *r.Deployment.Spec.Replicas <= *base.Deployment.Spec.Replicas {
		t.Error("production does not raise the replicas")
	}
}
