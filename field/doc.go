// Package field is the typed form of a problem with one configuration key:
// the dotted scenario key it concerns ("parallelism.tp"), what is wrong, and
// the other keys the rule read to find it.
//
// The validators of model, topology and parallelism return these, so that
// the scenario reader can place each problem at the line that set its key,
// and drop a problem that only follows from another (a rule that read a
// value which fell back to its default after an error), without taking
// message text apart. The printed form, "key: message", is what users see.
//
// It is a leaf package: it imports nothing of the module, so that every
// validator can use it.
package field
