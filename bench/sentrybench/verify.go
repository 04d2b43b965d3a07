package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/telltale-dev/telltale/bench/benchproc"
)

// errVerify reports an issues API that could not be read.
var errVerify = errors.New("sentrybench: issues API")

// issue is the part of an issue of the issues API the check reads.
type issue struct {
	ID    string `json:"id"`
	Count string `json:"count"` // a string, as in Sentry
	Title string `json:"title"`
}

// maxPages bounds the pages read, against a cursor that never ends.
const maxPages = 100000

// listIssues reads every issue of the project through
// GET {base}/api/0/projects/{org}/{project}/issues/?limit=100&statsPeriod=&cursor=…,
// following the Link header's rel="next" while it has results="true".
func listIssues(ctx context.Context, client *http.Client, base, org, project, token string) ([]issue, error) {
	var all []issue
	cursor := ""
	seen := make(map[string]bool)
	for page := 0; ; page++ {
		if page >= maxPages {
			return all, fmt.Errorf("%w: more than %d pages", errVerify, maxPages)
		}
		q := url.Values{"limit": {"100"}, "statsPeriod": {""}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		u := fmt.Sprintf("%s/api/0/projects/%s/%s/issues/?%s", strings.TrimSuffix(base, "/"), url.PathEscape(org), url.PathEscape(project), q.Encode())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return all, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return all, fmt.Errorf("%w: %v", errVerify, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return all, fmt.Errorf("%w: %v", errVerify, err)
		}
		if resp.StatusCode != http.StatusOK {
			return all, fmt.Errorf("%w: GET %s: %s: %.200s", errVerify, u, resp.Status, body)
		}
		var got []issue
		if err := json.Unmarshal(body, &got); err != nil {
			return all, fmt.Errorf("%w: GET %s: %v", errVerify, u, err)
		}
		all = append(all, got...)
		next, more := nextCursor(resp.Header.Values("Link"))
		if !more {
			return all, nil
		}
		if seen[next] {
			return all, fmt.Errorf("%w: cursor %q repeats", errVerify, next)
		}
		seen[next] = true
		cursor = next
	}
}

// nextCursor is benchproc.NextCursor, with no cursor when the next page
// has no results.
func nextCursor(values []string) (string, bool) {
	c, more := benchproc.NextCursor(values)
	if !more {
		return "", false
	}
	return c, true
}

// verification is the check of the stored issues against what was sent.
type verification struct {
	Issues       int   `json:"issues"`
	WantIssues   int   `json:"want_issues"` // groups with at least one accepted event
	CountSum     int64 `json:"count_sum"`
	WantCountSum int64 `json:"want_count_sum"` // events accepted (200)
	// PerGroup: the issues' counts, sorted, equal the accepted events per
	// group, sorted (titles are not parsed, so only the multisets compare).
	PerGroup bool    `json:"per_group_match"`
	Passed   bool    `json:"passed"`
	Seconds  float64 `json:"seconds"` // until the counts matched, or the wait ran out
	Error    string  `json:"error,omitempty"`
}

// check compares issues with the accepted events per group.
func check(issues []issue, groupAccepted []int64) (verification, error) {
	v := verification{Issues: len(issues)}
	var want, got []int64
	for _, n := range groupAccepted {
		if n > 0 {
			v.WantIssues++
			v.WantCountSum += n
			want = append(want, n)
		}
	}
	for _, is := range issues {
		n, err := strconv.ParseInt(is.Count, 10, 64)
		if err != nil {
			return v, fmt.Errorf("%w: issue %s: count %q", errVerify, is.ID, is.Count)
		}
		v.CountSum += n
		got = append(got, n)
	}
	slices.Sort(want)
	slices.Sort(got)
	v.PerGroup = slices.Equal(want, got)
	v.Passed = v.Issues == v.WantIssues && v.CountSum == v.WantCountSum
	return v, nil
}
