package main

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestSentryEventJSON stores an event with a user, a request, breadcrumbs
// and a thread, and checks that the API shows them with Sentry's field
// names and shapes (lowercase names, [key, value] pairs, null for unset).
func TestSentryEventJSON(t *testing.T) {
	m := startSentry(t, t.TempDir())
	event := `{"event_id":"0123456789abcdef0123456789abcdef","platform":"python","level":"error",` +
		`"exception":{"values":[{"type":"KeyError","value":"'x'"}]},` +
		`"user":{"id":"42","email":"a@example.com","data":{"plan":"pro"}},` +
		`"request":{"method":"POST","url":"https://shop.example/cart","query_string":"a=1&b=x%20y","headers":{"Host":"shop.example"}},` +
		`"breadcrumbs":{"values":[{"timestamp":1795680000.5,"category":"http","message":"GET /cart","data":{"status":200}}]},` +
		`"threads":{"values":[{"id":7,"name":"main","crashed":true}]}}`
	req, _ := http.NewRequest("POST", "http://"+m.HTTPAddr()+"/api/1/store/?sentry_key="+testKey, strings.NewReader(event))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("store: %v %v", resp, err)
	}
	resp.Body.Close()
	list := issueList(t, m, "is:unresolved")
	if len(list) != 1 {
		t.Fatalf("%d issues, want 1", len(list))
	}
	var ev struct {
		User    map[string]any `json:"user"`
		Entries []struct {
			Type string                     `json:"type"`
			Data map[string]json.RawMessage `json:"data"`
		} `json:"entries"`
	}
	apiGet(t, m, "/api/0/issues/"+list[0].ID+"/events/latest/", &ev)
	// No event named a release: Sentry's details say null, not nothing.
	var detail map[string]json.RawMessage
	apiGet(t, m, "/api/0/issues/"+list[0].ID+"/", &detail)
	if f, ok := detail["firstRelease"]; !ok || string(f) != "null" || string(detail["lastRelease"]) != "null" {
		t.Errorf("releases of an issue without one: first %s, last %s; want null and null", detail["firstRelease"], detail["lastRelease"])
	}
	var listed []map[string]json.RawMessage
	apiGet(t, m, "/api/0/projects/main/backend/issues/", &listed)
	if len(listed) != 1 {
		t.Fatalf("the issue list shows %d issues, want 1", len(listed))
	}
	if f, ok := listed[0]["firstRelease"]; ok {
		t.Errorf("the issue list shows firstRelease %s; Sentry's list has none", f)
	}
	if ev.User["id"] != "42" || ev.User["email"] != "a@example.com" || ev.User["username"] != nil || !reflect.DeepEqual(ev.User["data"], map[string]any{"plan": "pro"}) {
		t.Errorf("user = %v", ev.User)
	}
	data := map[string]map[string]json.RawMessage{}
	for _, e := range ev.Entries {
		data[e.Type] = e.Data
	}
	var query, headers [][2]string
	_ = json.Unmarshal(data["request"]["query"], &query)
	_ = json.Unmarshal(data["request"]["headers"], &headers)
	if string(data["request"]["url"]) != `"https://shop.example/cart"` || !reflect.DeepEqual(query, [][2]string{{"a", "1"}, {"b", "x y"}}) ||
		!reflect.DeepEqual(headers, [][2]string{{"Host", "shop.example"}}) {
		t.Errorf("request = %s", data["request"])
	}
	var crumbs []map[string]any
	_ = json.Unmarshal(data["breadcrumbs"]["values"], &crumbs)
	if len(crumbs) != 1 || crumbs[0]["message"] != "GET /cart" || crumbs[0]["category"] != "http" || crumbs[0]["type"] != nil ||
		crumbs[0]["timestamp"] != "2026-11-26T08:00:00.5Z" {
		t.Errorf("breadcrumbs = %v", crumbs)
	}
	var threads []map[string]any
	_ = json.Unmarshal(data["threads"]["values"], &threads)
	if len(threads) != 1 || threads[0]["id"] != "7" || threads[0]["name"] != "main" || threads[0]["crashed"] != true {
		t.Errorf("threads = %v", threads)
	}
}
