// Command spin burns CPU and reports how fast: every 100 ms it writes the
// total iteration count and the rate of the last second to the file named
// by its first argument (default /spin.txt),
// and prints the rate to stdout once a second. It runs until killed, or
// for the number of seconds given as its second argument.
//
//	spin /out/spin.txt 5
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

const chunk = 1 << 20 // iterations between clock reads

func main() {
	report := "/spin.txt"
	if len(os.Args) > 1 {
		report = os.Args[1]
	}
	var limit time.Duration
	if len(os.Args) > 2 {
		s, err := strconv.Atoi(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "usage: spin [REPORT_FILE [SECONDS]]")
			os.Exit(2)
		}
		limit = time.Duration(s) * time.Second
	}
	if err := spin(report, limit); err != nil {
		fmt.Fprintln(os.Stderr, "spin:", err)
		os.Exit(1)
	}
}

func spin(report string, limit time.Duration) error {
	start := time.Now()
	var total, x uint64 = 0, 1
	lastWrite, lastPrint, printedAt := start, start, uint64(0)
	for limit == 0 || time.Since(start) < limit {
		for i := 0; i < chunk; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		total += chunk
		now := time.Now()
		if now.Sub(lastWrite) >= 100*time.Millisecond {
			rate := float64(total) / now.Sub(start).Seconds()
			body := fmt.Sprintf("iterations %d\nrate %.0f\nchecksum %d\n", total, rate, x%10)
			if err := writeReport(report, body); err != nil {
				return err
			}
			lastWrite = now
		}
		if now.Sub(lastPrint) >= time.Second {
			fmt.Printf("iterations/s: %.0f\n", float64(total-printedAt)/now.Sub(lastPrint).Seconds())
			lastPrint, printedAt = now, total
		}
	}
	fmt.Printf("total iterations: %d\n", total)
	return nil
}

// writeReport replaces the report in one step, so a reader never sees it
// half written.
func writeReport(path, body string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
