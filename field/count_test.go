package field

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "0 stages"}, {1, "1 stage"}, {2, "2 stages"}, {16, "16 stages"}, {-1, "-1 stage"},
	} {
		if got := Count(tc.n, "stage", "stages"); got != tc.want {
			t.Errorf("Count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
