package main

import (
	"flag"
	"strings"
)

// undefinedFlag is how the flag package begins the error of an unknown flag.
const undefinedFlag = "flag provided but not defined: -"

// explainFlagError returns err's text, with the nearest flag fs defines
// when err names an unknown one: "flag provided but not defined: -sevice;
// did you mean -service?".
func explainFlagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, undefinedFlag)
	if !ok {
		return msg
	}
	if near := nearestFlag(fs, strings.TrimLeft(name, "-")); near != "" {
		return msg + "; did you mean -" + near + "?"
	}
	return msg
}

// nearestFlag returns the flag of fs closest to name in edit distance
// (the first by name among equals), or "" when none is within a third of
// name's length, at least 2: a guess further off misleads more than it helps.
func nearestFlag(fs *flag.FlagSet, name string) string {
	best, bestDist := "", max(2, len(name)/3)+1
	fs.VisitAll(func(f *flag.Flag) {
		if d := editDistance(name, f.Name); d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	return best
}

// editDistance is the optimal-string-alignment distance between a and b:
// the insertions, deletions, substitutions and swaps of two adjacent bytes
// that turn a into b (Damerau–Levenshtein without editing a substring twice).
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
