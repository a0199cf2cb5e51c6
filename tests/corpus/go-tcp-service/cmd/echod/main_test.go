package main

import "testing"

func TestReply(t *testing.T) {
	if got := reply("ping"); got != "PING" {
		t.Fatalf("reply = %q", got)
	}
}
