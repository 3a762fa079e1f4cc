package core

import (
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// residentIDWeights are the weights of the first 17 digits of a resident ID number (GB 11643-1999, ISO 7064
// MOD 11-2: 2^(17-i) mod 11).
var residentIDWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// residentIDCheckDigits is the check digit for each remainder of the weighted sum modulo 11; X stands for 10.
const residentIDCheckDigits = "10X98765432"

// earliestBirthYear is the first birth year a resident ID may carry; an earlier one is a typing error.
const earliestBirthYear = 1800

// chinaTime is the time zone a birth date in a resident ID is a date of, so "today" is today in China.
var chinaTime = time.FixedZone("CST", 8*60*60)

// residentIDProblem says what is wrong with an 18-character Chinese resident ID number (居民身份证号码), after
// the field's name, or "" when it is sound: 17 digits and a check digit (X, or x, for 10), a birth date
// (characters 7 to 14, YYYYMMDD) that is a real date from earliestBirthYear up to today in China, and the check
// digit the first 17 digits give.
func residentIDProblem(s string) string {
	if len(s) != 18 || !digitsOnly(s[:17]) {
		return "must be 18 characters: 17 digits and a check digit (0-9 or X)"
	}
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if (last < '0' || last > '9') && last != 'X' {
		return "must be 18 characters: 17 digits and a check digit (0-9 or X)"
	}
	y, _ := strconv.Atoi(s[6:10])
	m, _ := strconv.Atoi(s[10:12])
	d, _ := strconv.Atoi(s[12:14])
	birth := time.Date(y, time.Month(m), d, 0, 0, 0, 0, chinaTime)
	if y < earliestBirthYear || birth.Year() != y || int(birth.Month()) != m || birth.Day() != d {
		return "has no valid birth date (characters 7 to 14 are the date of birth, YYYYMMDD)"
	}
	if birth.After(now().In(chinaTime)) {
		return "has a birth date in the future"
	}
	sum := 0
	for i, w := range residentIDWeights {
		sum += int(s[i]-'0') * w
	}
	if residentIDCheckDigits[sum%11] != last {
		return "has a wrong check digit: one of its characters is mistyped"
	}
	return ""
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Limits of an e-mail address (RFC 5321: a path of 256 octets with its brackets, a local part of 64, a
// domain label of 63).
const (
	maxEmailLength      = 254
	maxEmailLocalLength = 64
	maxDomainLabel      = 63
)

// isEmail reports whether s is one bare e-mail address, exactly: what net/mail reads as an address with no
// display name and nothing around it, with a domain of at least two dot-separated labels of letters, digits
// and inner hyphens (non-ASCII letters allowed, for internationalised domains). Addresses that mail servers
// accept in theory but forms never see (a quoted local part, an IP address as domain) are refused.
func isEmail(s string) bool {
	if len(s) > maxEmailLength {
		return false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > maxEmailLocalLength || strings.HasPrefix(local, `"`) {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > maxDomainLabel || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r < 0x80 && r != '-' && (r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
				return false
			}
		}
	}
	return true
}
