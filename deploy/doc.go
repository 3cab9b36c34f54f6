// Package deploy holds ticketd's deployment files and, in its tests, their
// static validation; it has no code of its own. The files:
//
//   - Dockerfile: ticketd (the default target) and examples/echo (target
//     echo), built like the Makefile's build target, on distroless/static.
//   - compose.yaml: a local trial with Redis and the echo server.
//   - kustomize/base and kustomize/overlays/production: Kubernetes manifests.
//
// The tests render the kustomizations with the kustomize library (no
// kubectl needed), decode every rendered document strictly into the
// Kubernetes API types, and check the properties deploy/README.md promises:
// probes on the right paths and ports, a locked-down securityContext,
// resources, no secret in the ConfigMap, every TICKETD_* name a real
// setting of internal/ticketd/config.go, a termination grace period longer
// than ticketd's drain, and labels and selectors that agree across the
// Deployment, Service, PodDisruptionBudget, HorizontalPodAutoscaler,
// NetworkPolicy and ServiceMonitor. They parse compose.yaml, the
// Dockerfile and the Makefile the same way. Run them with
//
//	cd deploy && go test ./...
//
// This is a module of its own (github.com/wsticket/wsticket/deploy), so the
// Kubernetes dependencies stay out of the libraries' go.mod.
package deploy
