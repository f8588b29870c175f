// Command k6 is k6 v2 with posstorm's k6/x/tcp extension, the same shape as the main
// package xk6 generates. To use grafana/xk6-tcp instead, import it here in place of
// posstorm/k6-build/tcp and require it in go.mod.
package main

import (
	k6cmd "go.k6.io/k6/v2/cmd"

	_ "posstorm/k6-build/tcp" // registers k6/x/tcp
)

func main() {
	k6cmd.Execute()
}
