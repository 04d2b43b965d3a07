// Command gen writes Telltale's Grafana dashboards (package dashboards) as
// JSON files. `go generate ./dashboards/` runs it in the dashboards
// directory:
//
//	go run ./gen -dir .
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/telltale-dev/telltale/dashboards"
)

func main() {
	dir := flag.String("dir", ".", "directory to write the dashboard JSON files into")
	flag.Parse()
	if err := dashboards.Write(*dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
