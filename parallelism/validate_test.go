package parallelism

import (
	"math"
	"strings"
	"testing"

	"trainsim/field"
)

// simulateJob validates j and replays it: the path every caller takes, in one
// call for the tests.
func simulateJob(j Job) (*Result, error) {
	v, errs := j.Validate()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return Simulate(v)
}

// problems returns every problem Validate finds with j.
func problems(j Job) []field.Error {
	_, errs := j.Validate()
	return errs
}

// TestValidOnlyFromValidate: the replay refuses a Valid that Validate did not
// return, and Validate returns the job it checked, or no job and every
// problem (model, cluster and job rules together).
func TestValidOnlyFromValidate(t *testing.T) {
	if _, err := Simulate(Valid{}); err == nil || !strings.Contains(err.Error(), "not validated") {
		t.Errorf("Simulate(Valid{}) = %v, want a refusal", err)
	}
	if _, _, err := LayerTimes(Valid{}); err == nil {
		t.Error("LayerTimes(Valid{}) replayed an unvalidated job")
	}
	j := gpt3Job(t, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536)
	v, errs := j.Validate()
	if len(errs) > 0 {
		t.Fatalf("the default job fails validation: %v", errs)
	}
	if got := v.Job(); got.Layout != j.Layout || got.Model != j.Model {
		t.Errorf("Valid holds another job: %+v", got.Layout)
	}
	bad := j
	bad.Model.Hidden = 1000
	bad.Cluster.Network.Oversubscription = 0.5
	bad.Layout.ZeRO = 7
	v, errs = bad.Validate()
	if v.ok {
		t.Error("an invalid job came back as Valid")
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	want := "model.hidden cluster.network.oversubscription parallelism.zero"
	if strings.Join(got, " ") != want {
		t.Errorf("problems with %v, want %s (model, cluster, then job rules)", got, want)
	}
}

// TestEagerHBMFractionRange: training.eager_hbm_fraction is 0 (the
// family's calibration.hbm_fraction) or a fraction in [MinFraction, 1];
// anything else, a vanishing fraction (a slip that prices kernels past the
// engine's range), NaN and Inf included (a Job built in code, not read from TOML, can
// hold them), is refused rather than ignored as 0 or carried into the
// report, whose JSON cannot hold NaN.
func TestEagerHBMFractionRange(t *testing.T) {
	j := gpt3Job(t, 128, Layout{TP: 8, PP: 16, DP: 8, Microbatch: 1, Schedule: OneFOneB, Recompute: RecomputeFull}, 1536)
	for _, tc := range []struct {
		f  float64
		ok bool
	}{
		{0, true}, {0.51, true}, {1, true}, {MinFraction, true}, {1e-9, false}, {1e-300, false},
		{-1, false}, {1.5, false}, {math.NaN(), false}, {math.Inf(1), false}, {math.Inf(-1), false},
	} {
		bad := j
		bad.Training.EagerHBMFraction = tc.f
		refused := false
		for _, e := range problems(bad) {
			refused = refused || e.Field == "training.eager_hbm_fraction"
		}
		if refused == tc.ok {
			t.Errorf("eager_hbm_fraction %g: refused %v, want %v", tc.f, refused, !tc.ok)
		}
	}
}
