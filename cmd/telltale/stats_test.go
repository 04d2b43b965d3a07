package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSentryStats sends events through the real SDK, one of them too big,
// and reads them back through stats_v2 (Sentry's usage statistics, which
// Grafana's Sentry data source charts) once the history has recorded the
// counters: the stored ones as accepted, the refused one as invalid.
func TestSentryStats(t *testing.T) {
	m := startSentryFlushing(t, 100*time.Millisecond)
	hub, client := sentryHub(t, m, "shop@1.0.0", "production")
	for i := range 5 {
		sendBoom(hub, i, "alice")
	}
	client.Flush(5 * time.Second)
	// One request refused for the project: an envelope over the size limit.
	req, _ := http.NewRequest("POST", "http://"+m.HTTPAddr()+"/api/1/envelope/?sentry_key="+testKey,
		strings.NewReader(`{}`+"\n"+`{"type":"event"}`+"\n"+`{"message":"`+strings.Repeat("x", 2<<20)+`"}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized event: %v %v", resp, err)
	}

	type stats struct {
		Intervals []time.Time `json:"intervals"`
		Groups    []struct {
			By     map[string]string  `json:"by"`
			Totals map[string]int64   `json:"totals"`
			Series map[string][]int64 `json:"series"`
		} `json:"groups"`
	}
	path := "/api/0/organizations/main/stats_v2/?field=sum(quantity)&category=error&groupBy=outcome&interval=1m&statsPeriod=1h"
	var got map[string]int64
	eventually(t, "stats_v2 counting 5 accepted and 1 invalid", func() error {
		var s stats
		apiGet(t, m, path, &s)
		got = map[string]int64{}
		for _, g := range s.Groups {
			var sum int64
			for _, v := range g.Series["sum(quantity)"] {
				sum += v
			}
			if sum != g.Totals["sum(quantity)"] || len(g.Series["sum(quantity)"]) != len(s.Intervals) || len(s.Intervals) < 60 {
				t.Fatalf("group %v: series sum %d, total %d, %d points for %d intervals", g.By, sum, g.Totals["sum(quantity)"], len(g.Series["sum(quantity)"]), len(s.Intervals))
			}
			got[g.By["outcome"]] = g.Totals["sum(quantity)"]
		}
		if got["accepted"] != 5 || got["invalid"] != 1 || got["rate_limited"] != 0 {
			return fmt.Errorf("stats by outcome %v", got)
		}
		return nil
	})
	// Filters: another category has no events; an unknown project none.
	for _, q := range []string{
		strings.Replace(path, "category=error", "category=transaction", 1),
		path + "&project=99",
	} {
		var s stats
		apiGet(t, m, q, &s)
		for _, g := range s.Groups {
			if g.Totals["sum(quantity)"] != 0 {
				t.Errorf("%s: group %v counts %d", q, g.By, g.Totals["sum(quantity)"])
			}
		}
	}
}
