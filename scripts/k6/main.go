package main

import (
	k6cmd "go.k6.io/k6/v2/cmd"

	_ "posstorm/k6-build/tcp"
)

func main() {
	k6cmd.Execute()
}
