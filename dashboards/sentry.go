package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
)

// SentryQuery is a query of Grafana's Sentry data source plugin
// (grafana-sentry-datasource), which the Foundation SDK does not ship. Its
// JSON is the plugin's query model, the frontend's SentryQuery union
// (src/types.ts: SentryIssuesQuery, SentryStatsV2Query) and the backend's
// SentryQuery (pkg/query/model.go), in github.com/grafana/sentry-datasource
// (field names as of commit 1644622485002516ebb56f4f4c2eb8733a779743).
// Telltale answers two query types:
//
//   - "issues": the plugin's backend sends
//     GET /api/0/organizations/{org}/issues/?query=&start=&end=&sort=&limit=&project=&environment=
//     (pkg/sentry/issues.go).
//   - "statsV2" (the editor's "Stats"): the plugin's backend sends
//     GET /api/0/organizations/{org}/stats_v2/?start=&end=&interval=&category=&field=&groupBy=&project=&outcome=&reason=
//     (pkg/sentry/stats_v2.go), Telltale's error events over time by
//     outcome.
//
// Its JSON holds the fields of its query type only (MarshalJSON).
type SentryQuery struct {
	// RefId names the query within its panel.
	RefId string `json:"refId"`
	// Hide leaves the query out of the panel.
	Hide *bool `json:"hide,omitempty"`
	// Datasource is the Sentry data source the query runs on.
	Datasource *common.DataSourceRef `json:"datasource,omitempty"`
	// QueryType is what to fetch; Telltale serves "issues" and "statsV2".
	QueryType string `json:"queryType"`
	// ProjectIds are the numeric project ids (or "$project"); empty means
	// every project.
	ProjectIds []string `json:"projectIds"`
	// Environments filter issues by environment; empty means all.
	Environments []string `json:"environments"`
	// IssuesQuery is Sentry's search syntax, e.g. "is:unresolved".
	IssuesQuery string `json:"issuesQuery"`
	// IssuesSort is date (last seen), new (first seen), freq or user.
	IssuesSort string `json:"issuesSort,omitempty"`
	// IssuesLimit bounds the issues fetched (Telltale answers at most 100).
	IssuesLimit int64 `json:"issuesLimit,omitempty"`
	// StatsCategory is the stats' data category: error (every Telltale
	// event), default, transaction, attachment, session, security. The
	// plugin requires one.
	StatsCategory []string `json:"statsCategory,omitempty"`
	// StatsFields are what the stats sum: sum(quantity) (events) or
	// sum(times_seen). The plugin requires one.
	StatsFields []string `json:"statsFields,omitempty"`
	// StatsGroupBy splits the stats into series: outcome, reason,
	// category.
	StatsGroupBy []string `json:"statsGroupBy,omitempty"`
	// StatsOutcome keeps the outcomes listed (accepted, invalid,
	// rate_limited, filtered, client_discard, abuse); empty keeps all.
	StatsOutcome []string `json:"statsOutcome,omitempty"`
	// StatsReason keeps the reasons listed; empty keeps all.
	StatsReason []string `json:"statsReason,omitempty"`
	// StatsInterval is the width of a bucket, [number][m|h|d], or
	// "$__interval"; empty leaves it to the server (Sentry's default is
	// 1h).
	StatsInterval string `json:"statsInterval,omitempty"`
}

// The query types of SentryQuery Telltale answers.
const (
	// SentryIssues lists issues (SentryQuery.QueryType).
	SentryIssues = "issues"
	// SentryStatsV2 is the stats query: events over time.
	SentryStatsV2 = "statsV2"
)

// ErrSentryStats is returned for a stats query without a category or a
// field, which the plugin refuses to run.
var ErrSentryStats = errors.New(`dashboards: a Sentry stats query needs a category and a field`)

// MarshalJSON writes the fields of the query's type only, as the plugin's
// editor saves them: an issues query has no stats fields, a stats query no
// environments nor issues fields.
func (s SentryQuery) MarshalJSON() ([]byte, error) {
	type queryHead struct {
		RefId      string                `json:"refId"`
		Hide       *bool                 `json:"hide,omitempty"`
		Datasource *common.DataSourceRef `json:"datasource,omitempty"`
		QueryType  string                `json:"queryType"`
		ProjectIds []string              `json:"projectIds"`
	}
	head := queryHead{RefId: s.RefId, Hide: s.Hide, Datasource: s.Datasource, QueryType: s.QueryType, ProjectIds: nonNil(s.ProjectIds)}
	switch s.QueryType {
	case SentryIssues:
		return json.Marshal(struct {
			queryHead
			Environments []string `json:"environments"`
			IssuesQuery  string   `json:"issuesQuery"`
			IssuesSort   string   `json:"issuesSort,omitempty"`
			IssuesLimit  int64    `json:"issuesLimit,omitempty"`
		}{head, nonNil(s.Environments), s.IssuesQuery, s.IssuesSort, s.IssuesLimit})
	case SentryStatsV2:
		return json.Marshal(struct {
			queryHead
			StatsCategory []string `json:"statsCategory"`
			StatsFields   []string `json:"statsFields"`
			StatsGroupBy  []string `json:"statsGroupBy"`
			StatsOutcome  []string `json:"statsOutcome,omitempty"`
			StatsReason   []string `json:"statsReason,omitempty"`
			StatsInterval string   `json:"statsInterval,omitempty"`
		}{head, nonNil(s.StatsCategory), nonNil(s.StatsFields), nonNil(s.StatsGroupBy), s.StatsOutcome, s.StatsReason, s.StatsInterval})
	}
	type plain SentryQuery
	return json.Marshal(plain(s))
}

// nonNil returns s, or an empty slice for nil, which JSON writes as [].
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ImplementsDataqueryVariant marks SentryQuery as a data query.
func (SentryQuery) ImplementsDataqueryVariant() {}

// DataqueryType returns the plugin id.
func (SentryQuery) DataqueryType() string { return SentryType }

// Validate reports a stats query without a category or a field
// (ErrSentryStats); any other field may be empty.
func (s SentryQuery) Validate() error {
	if s.QueryType == SentryStatsV2 && (len(s.StatsCategory) == 0 || len(s.StatsFields) == 0) {
		return ErrSentryStats
	}
	return nil
}

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
	return &SentryQueryBuilder{q: SentryQuery{QueryType: SentryIssues, IssuesQuery: query}}
}

// NewSentryStatsBuilder starts a stats query: the sum of fields
// (sum(quantity) counts events) of the events of category (error), over
// every project, in buckets the server picks (see Interval).
func NewSentryStatsBuilder(category string, fields ...string) *SentryQueryBuilder {
	return &SentryQueryBuilder{q: SentryQuery{QueryType: SentryStatsV2, StatsCategory: []string{category}, StatsFields: fields}}
}

// Build returns the query.
func (b *SentryQueryBuilder) Build() (variants.Dataquery, error) {
	q := b.q
	for _, s := range []*[]string{&q.ProjectIds, &q.Environments, &q.StatsCategory, &q.StatsFields, &q.StatsGroupBy, &q.StatsOutcome, &q.StatsReason} {
		*s = slices.Clone(*s)
	}
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

// GroupBy splits a stats query into series: outcome, reason, category.
func (b *SentryQueryBuilder) GroupBy(by ...string) *SentryQueryBuilder {
	b.q.StatsGroupBy = by
	return b
}

// Outcomes restricts a stats query to outcomes (accepted, invalid,
// rate_limited, ...).
func (b *SentryQueryBuilder) Outcomes(outcomes ...string) *SentryQueryBuilder {
	b.q.StatsOutcome = outcomes
	return b
}

// Reasons restricts a stats query to reasons.
func (b *SentryQueryBuilder) Reasons(reasons ...string) *SentryQueryBuilder {
	b.q.StatsReason = reasons
	return b
}

// Interval sets a stats query's bucket width: [number][m|h|d], or
// "$__interval" (Grafana's interval for the panel and time range).
func (b *SentryQueryBuilder) Interval(interval string) *SentryQueryBuilder {
	b.q.StatsInterval = interval
	return b
}

// sentryDS is the data source of every Sentry panel: the value of the
// "sentry" variable.
func sentryDS() common.DataSourceRef { return ref(SentryType, "${sentry}") }
