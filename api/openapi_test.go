package api

import (
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/belfry/belfry/api/awsproto"
	"github.com/belfry/belfry/api/belfry/chimedashboard"
	"github.com/belfry/belfry/api/belfry/history"
	"github.com/belfry/belfry/api/belfry/snapshots"
	"github.com/belfry/belfry/api/belfry/wickranalytics"
	"github.com/belfry/belfry/api/chime/attachments"
	"github.com/belfry/belfry/api/chime/calls"
	"github.com/belfry/belfry/api/chime/client"
	"github.com/belfry/belfry/api/chime/contacts"
	"github.com/belfry/belfry/api/chime/conversations"
	"github.com/belfry/belfry/api/chime/dataexports"
	"github.com/belfry/belfry/api/chime/domains"
	"github.com/belfry/belfry/api/chime/live"
	"github.com/belfry/belfry/api/chime/media"
	"github.com/belfry/belfry/api/chime/meetings"
	"github.com/belfry/belfry/api/chime/porting"
	"github.com/belfry/belfry/api/chime/rooms"
	"github.com/belfry/belfry/api/chime/usagereports"
	wickrcalls "github.com/belfry/belfry/api/wickr/calls"
	wickrclient "github.com/belfry/belfry/api/wickr/client"
	wickrmessaging "github.com/belfry/belfry/api/wickr/messaging"
	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"
)

var echoParam = regexp.MustCompile(`:([A-Za-z]+)`)

func docPath(path, query string) string {
	p := echoParam.ReplaceAllString(path, "{$1}")
	if query != "" {
		p += "?operation=" + query
	}
	return p
}

// TestOpenAPIDocumentsEveryServedRoute keeps openapi.yaml and the mounted routes in step: every
// console, Belfry admin, client and ops route is documented, and nothing documented is not served.
func TestOpenAPIDocumentsEveryServedRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method, op := range item {
			if method == "parameters" {
				continue
			}
			if m, ok := op.(map[string]any); !ok || m["operationId"] == nil {
				t.Errorf("%s %s has no operationId", method, path)
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}

	served := map[string]bool{}
	var ops []awsproto.Operation
	ops = append(ops, (*domains.Service)(nil).Operations()...)
	ops = append(ops, (*porting.Service)(nil).Operations()...)
	ops = append(ops, (*dataexports.Service)(nil).Operations()...)
	ops = append(ops, (*meetings.Service)(nil).Operations()...)
	ops = append(ops, adminOps(nil)...)
	ops = append(ops, history.Operations(nil)...)
	ops = append(ops, snapshots.Operations(nil)...)
	ops = append(ops, wickranalytics.Operations(nil, nil)...)
	ops = append(ops, chimedashboard.Operations(nil, nil)...)
	ops = append(ops, (*usagereports.Service)(nil).Operations()...)
	for _, op := range ops {
		served[op.Method+" "+docPath(op.Path, op.Query)] = true
	}
	e := echo.New()
	mountClient(e, slices.Concat((*client.Service)(nil).Routes(), (*meetings.Service)(nil).ClientRoutes(nil), (*rooms.Messages)(nil).ClientRoutes(nil),
		(*contacts.Service)(nil).ClientRoutes(nil), (*calls.Service)(nil).ClientRoutes(nil), (*media.Service)(nil).ClientRoutes(nil),
		(*wickrclient.Service)(nil).Routes(), (*conversations.Service)(nil).ClientRoutes(nil), (*live.Hub)(nil).Routes(), (*wickrmessaging.Service)(nil).Routes(),
		(*attachments.Service)(nil).ClientRoutes(nil), (*attachments.Service)(nil).UploadRoutes(nil), (*wickrmessaging.Stream)(nil).Routes(), (*wickrcalls.Service)(nil).Routes(),
		(*wickrmessaging.Service)(nil).UploadRoutes()),
		slices.Concat((*rooms.Messages)(nil).WebhookRoutes(), (*wickrclient.Service)(nil).CallbackRoutes(), (*dataexports.Service)(nil).URLRoutes()))
	for _, r := range e.Routes() {
		// echo registers catch-all "route not found" entries for a group with middleware.
		if r.Method != echo.RouteNotFound && (strings.HasPrefix(r.Path, "/client/") || strings.HasPrefix(r.Path, "/incomingwebhooks/") || strings.HasPrefix(r.Path, "/exports/") ||
			strings.HasPrefix(r.Path, "/wickr/networks/")) {
			served[r.Method+" "+docPath(r.Path, "")] = true
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.yaml"} {
		served[http.MethodGet+" "+p] = true
	}

	var missing, stale []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 || len(stale) > 0 {
		t.Fatalf("openapi.yaml is out of step with the server:\nserved, not documented: %v\ndocumented, not served: %v", missing, stale)
	}
}
