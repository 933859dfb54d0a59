package collector

import (
	"strings"
)

// IDSegment replaces path segments that identify one item.
const IDSegment = ":id"

// NormalizePage turns a page's path into the label value beacons are
// counted under: the query string and fragment dropped, every byte but a
// letter, a digit or one of / - _ . ~ % percent-encoded as a URL path
// encodes it (so no Markdown or HTML, no [ ] ( ) < > * ` : or space, can
// reach an alert's labels), and every segment that is a number, a UUID or
// a long hexadecimal id replaced by ":id", so /orders/1234?x=1 and
// /orders/9 are one page, /orders/:id. The result is at most three times
// as long as the path.
func NormalizePage(page string) string {
	if i := strings.IndexAny(page, "?#"); i >= 0 {
		page = page[:i]
	}
	page = escapePage(page)
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

// escapePage percent-encodes every byte of page outside pageSafe; a path
// already encoded, as browsers send location.pathname, is returned as is.
func escapePage(page string) string {
	n := 0
	for i := 0; i < len(page); i++ {
		if !pageSafe(page[i]) {
			n++
		}
	}
	if n == 0 {
		return page
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(page)+2*n)
	for i := 0; i < len(page); i++ {
		if c := page[i]; pageSafe(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

// pageSafe reports whether c may stand unencoded in a page label: a
// letter, a digit, or one of / - _ . ~ %.
func pageSafe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("/-_.~%", c) >= 0
}
