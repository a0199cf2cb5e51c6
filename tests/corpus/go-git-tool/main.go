// Command go-git-tool lists local branches already merged into the given base.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

func merged(base string) ([]string, error) {
	out, err := exec.Command("git", "branch", "--merged", base, "--format=%(refname:short)").Output()
	if err != nil {
		return nil, err
	}
	return branches(string(out), base), nil
}

func branches(output, base string) []string {
	var names []string
	for _, line := range strings.Split(output, "\n") {
		if name := strings.TrimSpace(line); name != "" && name != base {
			names = append(names, name)
		}
	}
	return names
}

func main() {
	base := "main"
	if len(os.Args) > 1 {
		base = os.Args[1]
	}
	names, err := merged(base)
	if err != nil {
		fmt.Fprintln(os.Stderr, "git:", err)
		os.Exit(1)
	}
	for _, n := range names {
		fmt.Println(n)
	}
}
