package main

import "testing"

func TestBranchesSkipsBase(t *testing.T) {
	got := branches("main\nfeature/a\n\n", "main")
	if len(got) != 1 || got[0] != "feature/a" {
		t.Fatalf("branches = %v", got)
	}
}
