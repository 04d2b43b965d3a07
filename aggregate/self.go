package aggregate

import (
	"math"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/telltale-dev/telltale/storage"
)

// RecordSelf makes every flush also record what g gathers (Telltale's own
// metrics: telltale_*, go_*, process_*), each series with the labels in
// extra added, as a Prometheus scrape adds job and instance. The query API
// then answers for the self-metrics, so Grafana's health dashboard works
// against Telltale alone, with no Prometheus beside it. Histograms become
// _bucket (with le), _sum and _count series; summaries one series per
// quantile, _sum and _count; as on /metrics. Call it before the first
// flush.
func (h *HistorySink) RecordSelf(g prometheus.Gatherer, extra map[string]string) {
	h.self = g
	h.selfLabels = h.selfLabels[:0]
	for k, v := range extra {
		h.selfLabels = append(h.selfLabels, storage.Label{Name: k, Value: v})
	}
}

// appendSelf appends the gathered self-metrics to h.samples. Their labels
// are newly allocated (a few hundred series every flush interval).
func (h *HistorySink) appendSelf() error {
	fams, err := h.self.Gather()
	if err != nil && len(fams) == 0 {
		return err
	}
	for _, mf := range fams {
		name := mf.GetName()
		for _, m := range mf.GetMetric() {
			base := make(storage.Labels, 0, len(m.GetLabel())+len(h.selfLabels)+2)
			base = append(base, h.selfLabels...)
			for _, lp := range m.GetLabel() {
				if lp.GetValue() != "" {
					base = append(base, storage.Label{Name: lp.GetName(), Value: lp.GetValue()})
				}
			}
			add := func(suffix, extra, extraValue string, v float64) {
				ls := append(slices.Clone(base), storage.Label{Name: storage.MetricName, Value: name + suffix})
				if extra != "" {
					ls = append(ls, storage.Label{Name: extra, Value: extraValue})
				}
				slices.SortFunc(ls, func(a, b storage.Label) int { return strings.Compare(a.Name, b.Name) })
				h.samples = append(h.samples, storage.Sample{Labels: ls, Value: v})
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add("", "", "", m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add("", "", "", m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add("", "", "", m.GetUntyped().GetValue())
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					add("", "quantile", formatFloat(q.GetQuantile()), q.GetValue())
				}
				add("_sum", "", "", s.GetSampleSum())
				add("_count", "", "", float64(s.GetSampleCount()))
			case dto.MetricType_HISTOGRAM:
				hg := m.GetHistogram()
				sawInf := false
				for _, b := range hg.GetBucket() {
					sawInf = sawInf || math.IsInf(b.GetUpperBound(), 1)
					add("_bucket", "le", formatFloat(b.GetUpperBound()), float64(b.GetCumulativeCount()))
				}
				if !sawInf {
					add("_bucket", "le", "+Inf", float64(hg.GetSampleCount()))
				}
				add("_sum", "", "", hg.GetSampleSum())
				add("_count", "", "", float64(hg.GetSampleCount()))
			}
		}
	}
	return nil
}
