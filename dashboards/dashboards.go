package dashboards

//lint:file-ignore SA1019 Grafana's file provisioning and Import read the classic dashboard model that package dashboard builds; the SDK deprecates it for dashboardv2, which needs Grafana 12 with the kubernetesDashboards feature.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The data sources the dashboards default to: the ones
// provisioning/datasources/telltale.yaml creates. Each dashboard picks
// its data sources through variables, so that it also works imported into
// a Grafana whose data sources have other names.
const (
	// PrometheusUID is the uid of the Prometheus data source pointed at
	// Telltale's own /api/v1.
	PrometheusUID = "telltale"
	// SentryUID is the uid of the Sentry data source pointed at
	// Telltale's /api/0.
	SentryUID = "telltale-sentry"
)

// Data source plugin ids.
const (
	// PrometheusType is Grafana's built-in Prometheus data source.
	PrometheusType = "prometheus"
	// SentryType is Grafana's Sentry data source plugin.
	SentryType = "grafana-sentry-datasource"
)

// File is one generated dashboard.
type File struct {
	// Name is the file name, e.g. "telltale-health.json".
	Name string
	// JSON is the dashboard model, indented, ending in a newline.
	JSON []byte
}

// Generate builds every dashboard and returns them in file-name order.
func Generate() ([]File, error) {
	builders := []struct {
		name  string
		build func() *dashboard.DashboardBuilder
	}{
		{"telltale-errors.json", errorsDashboard},
		{"telltale-health.json", healthDashboard},
		{"telltale-statsd.json", statsdDashboard},
	}
	files := make([]File, 0, len(builders))
	for _, b := range builders {
		d, err := b.build().Build()
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", b.name, err)
		}
		numberPanels(&d)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", b.name, err)
		}
		files = append(files, File{Name: b.name, JSON: buf.Bytes()})
	}
	return files, nil
}

// Write generates every dashboard into dir, replacing the files there.
func Write(dir string) error {
	files, err := Generate()
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.JSON, 0o644); err != nil {
			return fmt.Errorf("dashboards: %w", err)
		}
	}
	return nil
}

// numberPanels gives every panel and row of d an id, in order, so that
// the output is stable and links to a panel (viewPanel=N) keep working.
func numberPanels(d *dashboard.Dashboard) {
	var id uint32
	for i := range d.Panels {
		p := &d.Panels[i]
		switch {
		case p.Panel != nil:
			id++
			p.Panel.Id = cog.ToPtr(id)
		case p.RowPanel != nil:
			id++
			p.RowPanel.Id = id
			for j := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[j].Id = cog.ToPtr(id)
			}
		}
	}
}

// newDashboard starts a dashboard with the settings every Telltale
// dashboard shares: tags, time range, refresh, shared crosshair, and links
// to the others.
func newDashboard(uid, title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"telltale"}).
		Editable().
		Time("now-1h", "now").
		Refresh("30s").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("Telltale").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"telltale"}).
			AsDropdown(true).
			IncludeVars(false).
			KeepTime(true))
}

// ref names a data source by plugin type and uid (or a "${variable}").
func ref(typ, uid string) common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr(typ), Uid: cog.ToPtr(uid)}
}

// promDS is the data source of every PromQL panel: the value of the
// "datasource" variable.
func promDS() common.DataSourceRef { return ref(PrometheusType, "${datasource}") }

// prometheusVariable is the "datasource" variable: which Prometheus data
// source the PromQL panels query, by default the provisioned Telltale one.
func prometheusVariable(description string) *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder("datasource").
		Label("Prometheus").
		Description(description).
		Type(PrometheusType).
		Current(option("Telltale", PrometheusUID))
}

// option is a variable option showing text and meaning value.
func option(text, value string) dashboard.VariableOption {
	return dashboard.VariableOption{
		Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr(text)},
		Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(value)},
	}
}

// promQueryVariable is a query variable over the "datasource" data source;
// query is Grafana's classic form: label_values(selector, label),
// label_names(metric_regexp).
func promQueryVariable(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(promDS()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
}

// q is one PromQL target: an expression and the legend of its series.
type q struct {
	expr, legend string
}

// refID names the i-th target of a panel: A, B, ..., Z, AA, AB, ...
func refID(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return refID(i/26-1) + refID(i%26)
}

// promTargets turns qs into Prometheus targets named A, B, C... on the
// "datasource" variable; instant makes them instant queries (stat panels).
func promTargets(instant bool, qs []q) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(qs))
	for i, x := range qs {
		t := prometheus.NewDataqueryBuilder().
			RefId(refID(i)).
			Datasource(promDS()).
			Expr(x.expr)
		if x.legend != "" {
			t.LegendFormat(x.legend)
		}
		if instant {
			t.Instant()
		} else {
			t.Range()
		}
		out[i] = t
	}
	return out
}

// graph is a time-series panel of PromQL targets.
func graph(title, description, unit string, width uint32, qs ...q) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(promDS()).
		Targets(promTargets(false, qs)).
		Unit(unit).
		Min(0).
		Height(8).
		Span(width).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
}

// single is a stat panel of one instant PromQL target: its last value.
func single(title, description, unit string, x q) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(promDS()).
		Targets(promTargets(true, []q{x})).
		Unit(unit).
		Height(4).
		Span(4).
		GraphMode(common.BigValueGraphModeNone).
		ColorMode(common.BigValueColorModeNone).
		Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
}

// sentryTable is a table of issues from the Sentry data source.
func sentryTable(title, description string, query *SentryQueryBuilder) *table.PanelBuilder {
	return table.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(sentryDS()).
		Targets([]cog.Builder[variants.Dataquery]{query.RefId("A").Datasource(sentryDS())}).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{})).
		CellHeight(common.TableCellHeightSm).
		Height(10).
		Span(24)
}

// sentryStatsGraph is a time-series panel of a Sentry stats query grouped
// by outcome: events per bucket as stacked bars, a series per outcome
// named by it (the plugin names each "Sum (Quantity)" with an Outcome
// label, pkg/framer/converters.go), accepted green, invalid red and
// rate_limited orange. Its minimum interval, 1m, keeps $__interval within
// what stats_v2 accepts (1m to 1d).
func sentryStatsGraph(title, description string, width uint32, query *SentryQueryBuilder) *timeseries.PanelBuilder {
	color := func(c string) []dashboard.DynamicConfigValue {
		return []dashboard.DynamicConfigValue{{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": c}}}
	}
	// The series whose name holds the outcome, whether Grafana matches
	// the display name or the plugin's ("Sum (Quantity)" and labels).
	outcome := func(o string) dashboard.MatcherConfig {
		return dashboard.MatcherConfig{Id: "byRegexp", Options: ".*" + o + ".*"}
	}
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(sentryDS()).
		Targets([]cog.Builder[variants.Dataquery]{query.RefId("A").Datasource(sentryDS())}).
		Interval("1m").
		Unit("short").
		Decimals(0).
		Min(0).
		Height(8).
		Span(width).
		DisplayName("${__field.labels.Outcome}").
		DrawStyle(common.GraphDrawStyleBars).
		BarAlignment(common.BarAlignmentAfter).
		FillOpacity(60).
		LineWidth(1).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true).
			Calcs([]string{"sum"})).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending)).
		WithOverride(outcome("accepted"), color("green")).
		WithOverride(outcome("invalid"), color("red")).
		WithOverride(outcome("rate_limited"), color("orange"))
}

// rate is the per-second rate of counter over Grafana's rate interval,
// summed by the labels in by ("" sums everything).
func rate(counter, selector, by string) string {
	return sumBy(by, "rate("+counter+"{"+selector+"}[$__rate_interval])")
}

// sumBy sums expr by the labels in by ("" sums everything).
func sumBy(by, expr string) string {
	if by == "" {
		return "sum(" + expr + ")"
	}
	return "sum by (" + by + ") (" + expr + ")"
}

// quantile is the phi-quantile of the histogram whose _bucket series are
// bucket, over Grafana's rate interval.
func quantile(phi, bucket, selector string) string {
	return "histogram_quantile(" + phi + ", " + rate(bucket, selector, "le") + ")"
}

// mean is the mean observation of the histogram or summary base over
// Grafana's rate interval: rate of _sum over rate of _count.
func mean(base, selector string) string {
	return rate(base+"_sum", selector, "") + " / " + rate(base+"_count", selector, "")
}
