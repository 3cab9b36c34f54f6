package deploy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomizations are the trees the tests render, relative to deploy/.
var kustomizations = []string{"kustomize/base", "kustomize/overlays/production"}

// rendered is one kustomization's output, decoded: exactly one object of
// each kind ticketd's manifests are made of.
type rendered struct {
	Dir            string
	Namespace      *corev1.Namespace
	Deployment     *appsv1.Deployment
	Service        *corev1.Service
	ConfigMap      *corev1.ConfigMap
	Secret         *corev1.Secret
	HPA            *autoscalingv2.HorizontalPodAutoscaler
	PDB            *policyv1.PodDisruptionBudget
	NetworkPolicy  *networkingv1.NetworkPolicy
	ServiceMonitor *monitoringv1.ServiceMonitor
}

// slot returns the field of r that holds apiVersion/kind, or an error for
// a kind the manifests are not expected to contain.
func (r *rendered) slot(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		r.Namespace = &corev1.Namespace{}
		return r.Namespace, nil
	case "apps/v1 Deployment":
		r.Deployment = &appsv1.Deployment{}
		return r.Deployment, nil
	case "v1 Service":
		r.Service = &corev1.Service{}
		return r.Service, nil
	case "v1 ConfigMap":
		r.ConfigMap = &corev1.ConfigMap{}
		return r.ConfigMap, nil
	case "v1 Secret":
		r.Secret = &corev1.Secret{}
		return r.Secret, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		r.HPA = &autoscalingv2.HorizontalPodAutoscaler{}
		return r.HPA, nil
	case "policy/v1 PodDisruptionBudget":
		r.PDB = &policyv1.PodDisruptionBudget{}
		return r.PDB, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		r.NetworkPolicy = &networkingv1.NetworkPolicy{}
		return r.NetworkPolicy, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		r.ServiceMonitor = &monitoringv1.ServiceMonitor{}
		return r.ServiceMonitor, nil
	}
	return nil, fmt.Errorf("unexpected %s %s", apiVersion, kind)
}

// render builds the kustomization in dir with the kustomize library, as
// `kustomize build dir` does, and returns its documents as YAML.
func render(t *testing.T, dir string) [][]byte {
	t.Helper()
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var docs [][]byte
	for _, res := range resMap.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s as YAML: %v", dir, res.CurId(), err)
		}
		docs = append(docs, y)
	}
	return docs
}

// decode renders dir and decodes every document strictly (an unknown or
// duplicate field fails) into its Kubernetes API type.
func decode(t *testing.T, dir string) *rendered {
	t.Helper()
	r := &rendered{Dir: dir}
	seen := map[string]bool{}
	for _, doc := range render(t, dir) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("%s: %v in\n%s", dir, err, doc)
		}
		key := head.APIVersion + " " + head.Kind
		if seen[key] {
			t.Fatalf("%s: more than one %s", dir, key)
		}
		seen[key] = true
		obj, err := r.slot(head.APIVersion, head.Kind)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if err := decodeStrict(doc, obj); err != nil {
			t.Fatalf("%s: %s does not decode strictly: %v\n%s", dir, key, err, doc)
		}
	}
	if r.Namespace == nil || r.Deployment == nil || r.Service == nil || r.ConfigMap == nil || r.Secret == nil ||
		r.HPA == nil || r.PDB == nil || r.NetworkPolicy == nil || r.ServiceMonitor == nil {
		t.Fatalf("%s: rendered only %v", dir, keys(seen))
	}
	return r
}

// container returns the Deployment's ticketd container.
func (r *rendered) container(t *testing.T) *corev1.Container {
	t.Helper()
	cs := r.Deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "ticketd" {
		t.Fatalf("%s: want one container named ticketd, got %d", r.Dir, len(cs))
	}
	return &cs[0]
}

// env returns the ticketd container's environment as the process sees it:
// the ConfigMap's and Secret's keys through envFrom, then env entries with
// a literal value (valueFrom entries map to "").
func (r *rendered) env(t *testing.T) map[string]string {
	t.Helper()
	c := r.container(t)
	out := map[string]string{}
	for _, src := range c.EnvFrom {
		switch {
		case src.ConfigMapRef != nil && src.ConfigMapRef.Name == r.ConfigMap.Name:
			for k, v := range r.ConfigMap.Data {
				out[k] = v
			}
		case src.SecretRef != nil && src.SecretRef.Name == r.Secret.Name:
			for k, v := range r.Secret.Data {
				out[k] = string(v)
			}
		default:
			t.Fatalf("%s: envFrom %+v names no rendered ConfigMap or Secret", r.Dir, src)
		}
	}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

// decodeStrict decodes a YAML document into obj as the API server would
// under kubectl's strict field validation: field names match case-sensitively,
// and an unknown or duplicate field is an error.
func decodeStrict(doc []byte, obj any) error {
	j, err := yaml.YAMLToJSONStrict(doc) // duplicate keys fail here
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(j, obj, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func keys[V any](m map[string]V) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return strings.Join(out, ", ")
}

func TestRenderDecodesStrictly(t *testing.T) {
	t.Parallel()
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			r := decode(t, dir)
			if r.Namespace.Name == "" {
				t.Error("the Namespace has no name")
			}
			for _, ns := range []string{r.Deployment.Namespace, r.Service.Namespace, r.ConfigMap.Namespace, r.Secret.Namespace,
				r.HPA.Namespace, r.PDB.Namespace, r.NetworkPolicy.Namespace, r.ServiceMonitor.Namespace} {
				if ns != r.Namespace.Name {
					t.Errorf("an object is in namespace %q, want %q", ns, r.Namespace.Name)
				}
			}
		})
	}
}

// The strict decoder is what the other tests rely on: a misspelt field
// must fail, not vanish.
func TestStrictDecodeRejectsUnknownFields(t *testing.T) {
	t.Parallel()
	good := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 2, template: {spec: {containers: [{name: x, livenessProbe: {}}]}}}\n"
	var d appsv1.Deployment
	if err := decodeStrict([]byte(good), &d); err != nil || *d.Spec.Replicas != 2 {
		t.Fatalf("a well-formed Deployment: %v", err)
	}
	for _, doc := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{name: x, livenessprobe: {}}]}}}\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {endpoints: [{port: http, pathh: /metrics}]}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 1}], ports: []}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, Namespace: y}\n",
	} {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		obj, err := new(rendered).slot(head.APIVersion, head.Kind)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeStrict([]byte(doc), obj); err == nil {
			t.Errorf("decoded strictly, want an error:\n%s", doc)
		}
	}
}
