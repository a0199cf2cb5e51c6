package main

import "testing"

func TestReverse(t *testing.T) {
	got := reverse([]string{"a", "b", "c"})
	if got[0] != "c" || got[2] != "a" {
		t.Fatalf("reverse = %v", got)
	}
}
