package store

import (
	"math"
	"strconv"
)

// A decimal is a float written m × 10^e with an integer mantissa, the form
// in which a block stores the values of a series: counters and integer
// gauges become small integers whose differences compress to a byte or
// less. Every conversion is checked by converting back, so a value that
// would not come back bit for bit is never stored as a decimal.

// exactMantissa bounds the mantissas a float holds exactly: below it, with
// a power of ten that is itself exact (10^0 to 10^22), one IEEE
// multiplication or division rounds the exact decimal correctly, as
// strconv.ParseFloat would.
const (
	exactMantissa = 1 << 53
	maxExactPow10 = 22
	// maxDecimalExp bounds a block's shared exponent; past it no float64
	// mantissa of 17 digits fits int64 anyway.
	maxDecimalExp = 330
)

var pow10 = func() (p [maxExactPow10 + 1]float64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// toDecimal returns v as m × 10^e with the smallest |m| it finds, or false
// for NaN, ±Inf and -0, which no decimal holds. Short decimals are found by
// arithmetic; others by the shortest representation strconv gives.
func toDecimal(v float64) (m int64, e int, ok bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) || (v == 0 && math.Signbit(v)) {
		return 0, 0, false
	}
	if v == math.Trunc(v) && math.Abs(v) < exactMantissa {
		return trimZeros(int64(v), 0)
	}
	for k := 1; k <= maxExactPow10; k++ {
		w := v * pow10[k]
		if math.Abs(w) >= exactMantissa {
			break
		}
		if r := math.Round(w); r/pow10[k] == v {
			return int64(r), -k, true
		}
	}
	return shortestDecimal(v)
}

// trimZeros moves m's trailing zeros into the exponent.
func trimZeros(m int64, e int) (int64, int, bool) {
	for m != 0 && m%10 == 0 {
		m /= 10
		e++
	}
	return m, e, true
}

// shortestDecimal reads the digits of strconv's shortest representation of
// v, at most 17 of them, which always fit an int64.
func shortestDecimal(v float64) (int64, int, bool) {
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], v, 'e', -1, 64)
	var m int64
	digits, i := 0, 0
	neg := s[0] == '-'
	if neg {
		i++
	}
	for ; i < len(s) && s[i] != 'e'; i++ {
		if s[i] != '.' {
			m = m*10 + int64(s[i]-'0')
			digits++
		}
	}
	exp, err := strconv.Atoi(string(s[i+1:]))
	if err != nil {
		return 0, 0, false
	}
	if neg {
		m = -m
	}
	return trimZeros(m, exp-(digits-1))
}

// fromDecimal returns m × 10^e as the float nearest to it. It uses one IEEE
// operation when m and 10^|e| are exact floats, and strconv otherwise.
func fromDecimal(m int64, e int) float64 {
	if -exactMantissa < m && m < exactMantissa {
		switch {
		case e >= 0 && e <= maxExactPow10:
			return float64(m) * pow10[e]
		case e < 0 && e >= -maxExactPow10:
			return float64(m) / pow10[-e]
		}
	}
	var buf [48]byte
	b := strconv.AppendInt(buf[:0], m, 10)
	b = append(b, 'e')
	b = strconv.AppendInt(b, int64(e), 10)
	v, _ := strconv.ParseFloat(string(b), 64) // out of range gives ±Inf or 0, which the encoder's check rejects
	return v
}

// rescale returns m × 10^shift, false when it leaves int64.
func rescale(m int64, shift int) (int64, bool) {
	for ; shift > 0 && m != 0; shift-- {
		if m > math.MaxInt64/10 || m < math.MinInt64/10 {
			return 0, false
		}
		m *= 10
	}
	return m, true
}
