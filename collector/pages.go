package collector

import (
	"strings"
)

// IDSegment replaces path segments that identify one item.
const IDSegment = ":id"

// NormalizePage turns a page's path into the label value beacons are
// counted under: the query string and fragment dropped, and every segment
// that is a number, a UUID or a long hexadecimal id replaced by ":id", so
// /orders/1234?x=1 and /orders/9 are one page, /orders/:id.
func NormalizePage(page string) string {
	if i := strings.IndexAny(page, "?#"); i >= 0 {
		page = page[:i]
	}
	// Every id this recognises holds a digit (but for an all-letter UUID,
	// a one in 10^11 chance), so most paths skip the split.
	if !strings.ContainsFunc(page, isDigit) {
		return page
	}
	segs := strings.Split(page, "/")
	for i, s := range segs {
		if isID(s) {
			segs[i] = IDSegment
		}
	}
	return strings.Join(segs, "/")
}

func isDigit(r rune) bool {
	return r >= '0' && r <= '9'
}

// isID reports whether a path segment is a number, a UUID, or 16 or more hex digits.
func isID(s string) bool {
	if s == "" {
		return false
	}
	digits, hex := true, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		isDigit := c >= '0' && c <= '9'
		isHex := isDigit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
		digits = digits && isDigit
		hex = hex && (isHex || (c == '-' && len(s) == 36))
	}
	return digits || (hex && (len(s) >= 16 || isUUID(s)))
}

func isUUID(s string) bool {
	return len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-'
}
