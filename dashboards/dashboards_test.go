package dashboards

//lint:file-ignore SA1019 Grafana's file provisioning and Import read the classic dashboard model that package dashboard builds; the SDK deprecates it for dashboardv2, which needs Grafana 12 with the kubernetesDashboards feature.

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// generate returns the generated dashboards, failing the test on an error.
func generate(t *testing.T) []File {
	t.Helper()
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCommittedJSON checks that the committed dashboards are what the
// generator writes now, and that no stale dashboard is left beside them.
func TestCommittedJSON(t *testing.T) {
	files := generate(t)
	const fix = "the generator changed: run `go generate ./dashboards/` and commit the JSON it writes"
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		got, err := os.ReadFile(f.Name)
		if err != nil {
			t.Errorf("%s: %v; %s", f.Name, err, fix)
			continue
		}
		if !bytes.Equal(got, f.JSON) {
			t.Errorf("%s differs from what the generator writes (%s)", f.Name, fix)
		}
	}
	committed, _ := filepath.Glob("*.json")
	for _, c := range committed {
		if !slices.Contains(names, c) {
			t.Errorf("%s is not generated any more: delete it, or add it back to Generate", c)
		}
	}
}

// variableSets are plausible values of every dashboard variable: the
// defaults ("All"), one picked value, and several (Grafana's regexp
// format of a multi-value variable).
var variableSets = []map[string]string{
	{"instance": ".*", "metric": "shop_orders", "tag": "__name__", "value": ".*", "project": "1", "datasource": PrometheusUID, "sentry": SentryUID},
	{"instance": "127.0.0.1:8080", "metric": "shop_checkout", "tag": "region", "value": "eu", "project": "1", "datasource": PrometheusUID, "sentry": SentryUID},
	{"instance": "(10.0.0.1:8080|10.0.0.2:8080)", "metric": "requests", "tag": "env", "value": "(prod|dev)", "project": "1,2", "datasource": PrometheusUID, "sentry": SentryUID},
}

// TestPromQLParses expands the variables of every PromQL expression and
// variable query with each of variableSets and parses the result with the
// Prometheus parser; it also checks that every metric name is spelled as
// Telltale's names are (or comes from the metric variable).
func TestPromQLParses(t *testing.T) {
	files := generate(t)
	p := parser.NewParser(parser.Options{})
	selfName := regexp.MustCompile(`^(telltale|process|go)_[a-z_]+$`)
	n := 0
	for _, f := range files {
		qs, err := Queries(f.JSON)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		for _, q := range qs {
			for _, vs := range variableSets {
				vars := GrafanaVariables(vs)
				switch q.Kind {
				case PromQL:
					n++
					s, err := Expand(q.Expr, vars)
					if err != nil {
						t.Errorf("%s, %s: %v", f.Name, q.Where, err)
						continue
					}
					expr, err := p.ParseExpr(s)
					if err != nil {
						t.Errorf("%s, %s: %q does not parse: %v", f.Name, q.Where, s, err)
						continue
					}
					for _, name := range MetricNames(expr) {
						if !selfName.MatchString(name) && !strings.HasPrefix(name, vs["metric"]) {
							t.Errorf("%s, %s: metric %q is neither a self-metric nor the metric variable's", f.Name, q.Where, name)
						}
					}
				case LabelValues:
					n++
					sel, err := Expand(q.Expr, vars)
					if err != nil {
						t.Errorf("%s, %s: %v", f.Name, q.Where, err)
						continue
					}
					if sel != "" {
						if _, err := p.ParseMetricSelector(sel); err != nil {
							t.Errorf("%s, %s: selector %q does not parse: %v", f.Name, q.Where, sel, err)
						}
					}
					label, err := Expand(q.Label, vars)
					if err != nil || !model.LegacyValidation.IsValidLabelName(label) {
						t.Errorf("%s, %s: label %q (%v)", f.Name, q.Where, label, err)
					}
				case LabelNames:
					n++
					m, err := Expand(q.Expr, vars)
					if err != nil {
						t.Errorf("%s, %s: %v", f.Name, q.Where, err)
						continue
					}
					if _, err := p.ParseMetricSelector(LabelNamesSelector(m)); err != nil {
						t.Errorf("%s, %s: %q does not make a selector: %v", f.Name, q.Where, m, err)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no PromQL found")
	}
}

// TestPanels checks what Grafana relies on: unique panel ids, every
// target with its own refId and a data source, every data source one of
// the dashboard's variables.
func TestPanels(t *testing.T) {
	files := generate(t)
	for _, f := range files {
		var b struct {
			Panels []struct {
				ID         int            `json:"id"`
				Title      string         `json:"title"`
				Type       string         `json:"type"`
				Datasource map[string]any `json:"datasource"`
				Targets    []struct {
					RefID      string            `json:"refId"`
					Datasource map[string]string `json:"datasource"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(f.JSON, &b); err != nil {
			t.Fatal(err)
		}
		ids := map[int]bool{}
		for _, p := range b.Panels {
			if p.ID == 0 || ids[p.ID] {
				t.Errorf("%s: panel %q has id %d (zero or repeated)", f.Name, p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no target", f.Name, p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.RefID == "" || refs[tg.RefID] {
					t.Errorf("%s: panel %q: refId %q empty or repeated", f.Name, p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				if uid := tg.Datasource["uid"]; uid != "${datasource}" && uid != "${sentry}" {
					t.Errorf("%s: panel %q target %s: data source %v, want a variable", f.Name, p.Title, tg.RefID, tg.Datasource)
				}
			}
		}
	}
}

// TestSDKRoundTrip reads each dashboard back into the Foundation SDK's
// model, the Sentry query type registered, and writes it again: the same
// JSON, so no field is unknown to the schema (unknown ones would be
// dropped). (The SDK's UnmarshalJSONStrict of v0.0.22 reads every panel
// as null, so the plain decoder is used.)
func TestSDKRoundTrip(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	cog.NewRuntime().RegisterDataqueryVariant(SentryQueryVariantConfig())
	files := generate(t)
	for _, f := range files {
		var d dashboard.Dashboard
		if err := json.Unmarshal(f.JSON, &d); err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		again, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(append(again, '\n'), f.JSON) {
			t.Errorf("%s changes when read and written by the SDK", f.Name)
		}
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"a": "1", "metric": "m", "__rate_interval": "1m"}
	for in, want := range map[string]string{
		`x{a="$a"}[$__rate_interval]`:  `x{a="1"}[1m]`,
		`{__name__="${metric}_count"}`: `{__name__="m_count"}`,
		`${a:regex} [[a]] [[a:csv]]`:   `1 1 1`,
		`no variables`:                 `no variables`,
	} {
		if got, err := Expand(in, vars); err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Expand(`$missing`, vars); err == nil {
		t.Error("Expand of an unknown variable: no error")
	}
}

func TestRefID(t *testing.T) {
	for i, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 51: "AZ", 52: "BA"} {
		if got := refID(i); got != want {
			t.Errorf("refID(%d) = %q, want %q", i, got, want)
		}
	}
}

// TestProvisioning checks the provisioning files: the data sources the
// dashboards default to, of the right types, on Telltale's URL with the
// token from the environment, and a file provider.
func TestProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name           string            `yaml:"name"`
			UID            string            `yaml:"uid"`
			Type           string            `yaml:"type"`
			URL            string            `yaml:"url"`
			JSONData       map[string]any    `yaml:"jsonData"`
			SecureJSONData map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	b, err := os.ReadFile("provisioning/datasources/telltale.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &ds); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, d := range ds.Datasources {
		switch d.UID {
		case PrometheusUID:
			found[d.UID] = d.Type == PrometheusType && d.URL == "${TELLTALE_URL}" &&
				d.JSONData["httpHeaderName1"] == "Authorization" && d.SecureJSONData["httpHeaderValue1"] == "Bearer ${TELLTALE_TOKEN}"
		case SentryUID:
			// The plugin's settings: jsonData.url, jsonData.orgSlug,
			// secureJsonData.authToken (its provisioning/datasources/sentry.yaml).
			found[d.UID] = d.Type == SentryType && d.JSONData["url"] == "${TELLTALE_URL}" &&
				d.JSONData["orgSlug"] == "${TELLTALE_ORG}" && d.SecureJSONData["authToken"] == "${TELLTALE_TOKEN}"
		}
	}
	if ds.APIVersion != 1 || !found[PrometheusUID] || !found[SentryUID] {
		t.Errorf("data sources %+v: want %s (prometheus) and %s (sentry) on $TELLTALE_URL with $TELLTALE_TOKEN", ds, PrometheusUID, SentryUID)
	}

	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	b, err = os.ReadFile("provisioning/dashboards/telltale.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &prov); err != nil {
		t.Fatal(err)
	}
	if prov.APIVersion != 1 || len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options.Path == "" {
		t.Errorf("dashboard providers %+v: want one file provider with a path", prov)
	}
}

// TestREADME checks that README.md describes every panel.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	files := generate(t)
	for _, f := range files {
		var b struct {
			Panels []struct {
				Type  string `json:"type"`
				Title string `json:"title"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(f.JSON, &b); err != nil {
			t.Fatal(err)
		}
		for _, p := range b.Panels {
			if p.Type != "row" && !bytes.Contains(readme, []byte(p.Title)) {
				t.Errorf("README.md does not describe panel %q of %s", p.Title, f.Name)
			}
		}
	}
}

// TestSentryQueryJSON checks the JSON of both Sentry query types: the
// fields of the plugin's query model for that type only (src/types.ts),
// and a stats query the plugin would refuse (no field) refused by Build.
func TestSentryQueryJSON(t *testing.T) {
	for _, tc := range []struct {
		b    *SentryQueryBuilder
		want string
	}{
		{NewSentryIssuesBuilder("is:unresolved").RefId("A"),
			`{"refId":"A","queryType":"issues","projectIds":[],"environments":[],"issuesQuery":"is:unresolved"}`},
		{NewSentryStatsBuilder("error", "sum(quantity)").RefId("A").Projects("$project").GroupBy("outcome").Interval("$__interval"),
			`{"refId":"A","queryType":"statsV2","projectIds":["$project"],"statsCategory":["error"],"statsFields":["sum(quantity)"],"statsGroupBy":["outcome"],"statsInterval":"$__interval"}`},
		{NewSentryStatsBuilder("default", "sum(times_seen)").RefId("B").Outcomes("accepted", "invalid").Reasons("too_large"),
			`{"refId":"B","queryType":"statsV2","projectIds":[],"statsCategory":["default"],"statsFields":["sum(times_seen)"],"statsGroupBy":[],"statsOutcome":["accepted","invalid"],"statsReason":["too_large"]}`},
	} {
		q, err := tc.b.Build()
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(q)
		if err != nil || string(got) != tc.want {
			t.Errorf("JSON %s (%v), want %s", got, err, tc.want)
		}
		back, err := SentryQueryVariantConfig().StrictDataqueryUnmarshaler(got)
		if again, _ := json.Marshal(back); err != nil || string(again) != tc.want {
			t.Errorf("read back and written: %s (%v), want %s", again, err, tc.want)
		}
	}
	if _, err := NewSentryStatsBuilder("error").Build(); !errors.Is(err, ErrSentryStats) {
		t.Errorf("a stats query without a field: %v, want ErrSentryStats", err)
	}
}
