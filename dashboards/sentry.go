package dashboards

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// SentryQuery is a query of Grafana's Sentry data source plugin
// (grafana-sentry-datasource), which the Foundation SDK does not ship. Its
// JSON is the plugin's query model for issue queries: the frontend's
// SentryIssuesQuery (src/types.ts) and the backend's SentryQuery
// (pkg/query/model.go) in github.com/grafana/sentry-datasource. For
// queryType "issues" the plugin's backend sends
// GET /api/0/organizations/{org}/issues/?query=&start=&end=&sort=&limit=&project=&environment=
// (pkg/sentry/issues.go), which Telltale answers.
type SentryQuery struct {
	// RefId names the query within its panel.
	RefId string `json:"refId"`
	// Hide leaves the query out of the panel.
	Hide *bool `json:"hide,omitempty"`
	// Datasource is the Sentry data source the query runs on.
	Datasource *common.DataSourceRef `json:"datasource,omitempty"`
	// QueryType is what to fetch; Telltale serves "issues".
	QueryType string `json:"queryType"`
	// ProjectIds are the numeric project ids (or "$project"); empty means
	// every project.
	ProjectIds []string `json:"projectIds"`
	// Environments filter by environment; empty means all.
	Environments []string `json:"environments"`
	// IssuesQuery is Sentry's search syntax, e.g. "is:unresolved".
	IssuesQuery string `json:"issuesQuery"`
	// IssuesSort is date (last seen), new (first seen), freq or user.
	IssuesSort string `json:"issuesSort,omitempty"`
	// IssuesLimit bounds the issues fetched (Telltale answers at most 100).
	IssuesLimit int64 `json:"issuesLimit,omitempty"`
}

// ImplementsDataqueryVariant marks SentryQuery as a data query.
func (SentryQuery) ImplementsDataqueryVariant() {}

// DataqueryType returns the plugin id.
func (SentryQuery) DataqueryType() string { return SentryType }

// Validate reports nothing: every field may be empty.
func (SentryQuery) Validate() error { return nil }

// Equals reports whether other is the same query.
func (s SentryQuery) Equals(other variants.Dataquery) bool {
	o, ok := other.(SentryQuery)
	return ok && reflect.DeepEqual(s, o)
}

// SentryQueryVariantConfig lets the Foundation SDK's runtime unmarshal
// dashboards holding Sentry queries (cog.NewRuntime().RegisterDataqueryVariant).
func SentryQueryVariantConfig() variants.DataqueryConfig {
	return variants.DataqueryConfig{
		Identifier: SentryType,
		DataqueryUnmarshaler: func(raw []byte) (variants.Dataquery, error) {
			var q SentryQuery
			if err := json.Unmarshal(raw, &q); err != nil {
				return nil, err
			}
			return q, nil
		},
		StrictDataqueryUnmarshaler: func(raw []byte) (variants.Dataquery, error) {
			var q SentryQuery
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&q); err != nil {
				return nil, err
			}
			return q, nil
		},
	}
}

var _ cog.Builder[variants.Dataquery] = (*SentryQueryBuilder)(nil)

// SentryQueryBuilder builds a SentryQuery.
type SentryQueryBuilder struct {
	q SentryQuery
}

// NewSentryIssuesBuilder starts an issue query with Sentry's search syntax
// query, over every project and environment.
func NewSentryIssuesBuilder(query string) *SentryQueryBuilder {
	return &SentryQueryBuilder{q: SentryQuery{QueryType: "issues", IssuesQuery: query, ProjectIds: []string{}, Environments: []string{}}}
}

// Build returns the query.
func (b *SentryQueryBuilder) Build() (variants.Dataquery, error) {
	q := b.q
	q.ProjectIds = append([]string{}, q.ProjectIds...)
	q.Environments = append([]string{}, q.Environments...)
	return q, q.Validate()
}

// RefId names the query within its panel.
func (b *SentryQueryBuilder) RefId(id string) *SentryQueryBuilder { b.q.RefId = id; return b }

// Datasource sets the Sentry data source.
func (b *SentryQueryBuilder) Datasource(ds common.DataSourceRef) *SentryQueryBuilder {
	b.q.Datasource = &ds
	return b
}

// Projects restricts the query to project ids (or "$project").
func (b *SentryQueryBuilder) Projects(ids ...string) *SentryQueryBuilder {
	b.q.ProjectIds = ids
	return b
}

// Environments restricts the query to environments.
func (b *SentryQueryBuilder) Environments(envs ...string) *SentryQueryBuilder {
	b.q.Environments = envs
	return b
}

// Sort orders the issues: date (last seen), new (first seen), freq, user.
func (b *SentryQueryBuilder) Sort(sort string) *SentryQueryBuilder { b.q.IssuesSort = sort; return b }

// Limit bounds the number of issues.
func (b *SentryQueryBuilder) Limit(n int64) *SentryQueryBuilder { b.q.IssuesLimit = n; return b }

// sentryDS is the data source of every Sentry panel: the value of the
// "sentry" variable.
func sentryDS() common.DataSourceRef { return ref(SentryType, "${sentry}") }
