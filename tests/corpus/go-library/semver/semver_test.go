package semver

import "testing"

func TestLess(t *testing.T) {
	if !Less("v1.2.3", "1.10.0") {
		t.Fatal("1.2.3 should sort before 1.10.0")
	}
	if Less("2.0.0", "2.0.0") {
		t.Fatal("equal versions are not less")
	}
}
