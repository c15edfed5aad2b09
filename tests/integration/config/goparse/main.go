// Verdicts of the Go parsers behind the cron, CIDR and Go-duration checks:
// robfig/cron v3 ParseStandard plus the API server's TZ rule (CronJob
// spec.schedule), k8s.io/utils ParseCIDRSloppy (what kube-apiserver uses for
// Service loadBalancerSourceRanges and NetworkPolicy ipBlock) and
// time.ParseDuration (cAdvisor flags). Reads {"grammar","value"} JSON
// lines on stdin, writes "ok" or the error, one line each.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	netutils "k8s.io/utils/net"
)

type sample struct {
	Grammar string `json:"grammar"`
	Value   string `json:"value"`
}

func verdict(s sample) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	switch s.Grammar {
	case "cron":
		if _, err := cron.ParseStandard(s.Value); err != nil {
			return err
		}
		if strings.Contains(s.Value, "TZ") {
			return fmt.Errorf("cannot use TZ or CRON_TZ in schedule")
		}
		return nil
	case "cidr":
		// The API server parses CIDRs "sloppily" (leading zeros allowed, read
		// as decimal) for compatibility; the config refuses them on purpose.
		_, _, err := netutils.ParseCIDRSloppy(s.Value)
		return err
	case "go_duration":
		_, err := time.ParseDuration(s.Value)
		return err
	}
	return fmt.Errorf("unknown grammar %q", s.Grammar)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		var s sample
		if err := json.Unmarshal(in.Bytes(), &s); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := verdict(s); err != nil {
			fmt.Fprintln(out, strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintln(out, "ok")
		}
	}
}
