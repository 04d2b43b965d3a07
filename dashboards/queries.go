package dashboards

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// QueryKind says what a Query asks its data source.
type QueryKind int

// The kinds of queries a dashboard holds.
const (
	// PromQL is a panel target's PromQL expression (/api/v1/query_range,
	// or /api/v1/query for an instant target).
	PromQL QueryKind = iota
	// LabelValues is a label_values(selector, label) variable
	// (/api/v1/label/{label}/values?match[]=selector).
	LabelValues
	// LabelNames is a label_names(metric) variable: Grafana asks
	// /api/v1/labels?match[]={__name__=~".*metric.*"}.
	LabelNames
	// Sentry is a panel target of the Sentry data source plugin.
	Sentry
	// SentryVariable is a variable query of the Sentry data source plugin
	// (e.g. {"type": "projects"}).
	SentryVariable
)

// Query is one query of a dashboard, as Grafana sends it before it
// replaces the template variables in it.
type Query struct {
	// Where names the panel ("panel Flush latency, target B") or the
	// variable ("variable metric").
	Where string
	// Kind says what the query asks.
	Kind QueryKind
	// Instant is set for an instant PromQL target.
	Instant bool
	// Expr is the PromQL expression (PromQL); the series selector, or ""
	// for none (LabelValues); the metric-name regexp (LabelNames).
	Expr string
	// Label is the label whose values a LabelValues query lists.
	Label string
	// Sentry is the target of a Sentry query, or the variable query of a
	// SentryVariable, as JSON.
	Sentry json.RawMessage
}

// Grafana's classic variable query syntax, as in its Prometheus data
// source (migrations/variableMigration.ts).
var (
	labelValuesRE = regexp.MustCompile(`^label_values\((?:(.+),\s*)?([a-zA-Z_$][a-zA-Z0-9_]*)\)\s*$`)
	labelNamesRE  = regexp.MustCompile(`^label_names\((.+)\)\s*$`)
)

// boardJSON is the part of a dashboard model Queries reads.
type boardJSON struct {
	Panels     []panelJSON `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *dsJSON         `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type panelJSON struct {
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Datasource *dsJSON           `json:"datasource"`
	Targets    []json.RawMessage `json:"targets"`
	Panels     []panelJSON       `json:"panels"` // a collapsed row's
}

type dsJSON struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Queries lists the queries of a dashboard model: every panel target (in
// rows too) and every query variable.
func Queries(board []byte) ([]Query, error) {
	var b boardJSON
	if err := json.Unmarshal(board, &b); err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	var out []Query
	for _, v := range b.Templating.List {
		if v.Type != "query" {
			continue
		}
		where := "variable " + v.Name
		if v.Datasource == nil {
			return nil, fmt.Errorf("dashboards: %s has no data source", where)
		}
		switch v.Datasource.Type {
		case PrometheusType:
			var s string
			if err := json.Unmarshal(v.Query, &s); err != nil {
				return nil, fmt.Errorf("dashboards: %s: want a classic query string: %w", where, err)
			}
			if m := labelValuesRE.FindStringSubmatch(s); m != nil {
				out = append(out, Query{Where: where, Kind: LabelValues, Expr: m[1], Label: m[2]})
			} else if m := labelNamesRE.FindStringSubmatch(s); m != nil {
				out = append(out, Query{Where: where, Kind: LabelNames, Expr: m[1]})
			} else {
				return nil, fmt.Errorf("dashboards: %s: unknown query %q", where, s)
			}
		case SentryType:
			out = append(out, Query{Where: where, Kind: SentryVariable, Sentry: v.Query})
		default:
			return nil, fmt.Errorf("dashboards: %s: unknown data source type %q", where, v.Datasource.Type)
		}
	}
	var walk func(ps []panelJSON) error
	walk = func(ps []panelJSON) error {
		for _, p := range ps {
			if err := walk(p.Panels); err != nil {
				return err
			}
			for _, raw := range p.Targets {
				var t struct {
					RefID      string  `json:"refId"`
					Datasource *dsJSON `json:"datasource"`
					Expr       string  `json:"expr"`
					Instant    bool    `json:"instant"`
				}
				if err := json.Unmarshal(raw, &t); err != nil {
					return err
				}
				where := fmt.Sprintf("panel %q, target %s", p.Title, t.RefID)
				ds := t.Datasource
				if ds == nil {
					ds = p.Datasource
				}
				if ds == nil {
					return fmt.Errorf("dashboards: %s has no data source", where)
				}
				switch ds.Type {
				case PrometheusType:
					out = append(out, Query{Where: where, Kind: PromQL, Expr: t.Expr, Instant: t.Instant})
				case SentryType:
					out = append(out, Query{Where: where, Kind: Sentry, Sentry: raw})
				default:
					return fmt.Errorf("dashboards: %s: unknown data source type %q", where, ds.Type)
				}
			}
		}
		return nil
	}
	if err := walk(b.Panels); err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	return out, nil
}

// variableRE matches Grafana's variable syntaxes: $name, ${name},
// ${name:format} and [[name]].
var variableRE = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]`)

// Expand replaces the Grafana variables in s by their values in vars, as
// Grafana interpolates a query before it sends it; a variable missing
// from vars is an error.
func Expand(s string, vars map[string]string) (string, error) {
	var missing []string
	out := variableRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := variableRE.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return out, fmt.Errorf("dashboards: no value for %s in %q", strings.Join(missing, ", "), s)
	}
	return out, nil
}

// GrafanaVariables returns plausible values of the variables Grafana
// defines itself, for a data source whose scrape interval is 10 s (the
// provisioned one's timeInterval) and the dashboards' default time range
// of an hour, with the values of extra added.
func GrafanaVariables(extra map[string]string) map[string]string {
	vars := map[string]string{
		"__rate_interval": "1m",
		"__interval":      "15s",
		"__interval_ms":   "15000",
		"__range":         "1h",
		"__range_s":       "3600",
		"__range_ms":      "3600000",
	}
	maps.Copy(vars, extra)
	return vars
}

// LabelNamesSelector is the series selector Grafana sends for a
// label_names(metric) variable: every series whose name contains metric.
func LabelNamesSelector(metric string) string {
	return `{__name__=~".*` + metric + `.*"}`
}

// MetricNames returns the metric names expr selects by name (a vector
// selector's name, or an equality matcher on __name__), sorted, each once.
func MetricNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name != "" {
			names = append(names, vs.Name)
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				names = append(names, m.Value)
			}
		}
		return nil
	})
	slices.Sort(names)
	return slices.Compact(names)
}
