package auth

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Password length limits, in characters. The upper bound only keeps a
// pasted file from becoming a password; argon2 itself takes any length.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 1024
)

// Errors of CheckPasswordStrength, worded for the person at the CLI or in
// the portal who chose the password.
var (
	ErrPasswordTooShort = fmt.Errorf("password too short: at least %d characters", MinPasswordLength)
	ErrPasswordTooLong  = fmt.Errorf("password too long: at most %d characters", MaxPasswordLength)
	ErrPasswordRepeated = errors.New("password is one character repeated: choose a less predictable one")
	ErrPasswordCommon   = errors.New("password is one of the most common passwords: choose a less predictable one")
	ErrPasswordInvalid  = errors.New("password is not valid UTF-8 or contains control characters")
)

// commonPasswords are passwords of 8 or more characters that top every
// published list of leaked passwords; guessing attacks try them first.
// Compared in lower case.
var commonPasswords = map[string]bool{
	"password": true, "password1": true, "password12": true, "password123": true,
	"passw0rd": true, "p@ssw0rd": true, "p@ssword": true, "pa$$word": true,
	"12345678": true, "123456789": true, "1234567890": true, "0123456789": true,
	"87654321": true, "987654321": true, "11223344": true, "12341234": true,
	"12344321": true, "1q2w3e4r": true, "1q2w3e4r5t": true, "1qaz2wsx": true,
	"qwertyui": true, "qwertyuiop": true, "qwerty123": true, "qwerty12": true,
	"asdfghjk": true, "asdfghjkl": true, "zxcvbnm1": true, "azertyui": true,
	"abcd1234": true, "abcdefgh": true, "abc12345": true, "abcdefg1": true,
	"iloveyou": true, "iloveyou1": true, "sunshine": true, "princess": true,
	"football": true, "baseball": true, "superman": true, "trustno1": true,
	"welcome1": true, "welcome123": true, "letmein1": true, "letmein123": true,
	"changeme": true, "changeme1": true, "admin123": true, "administrator": true,
	"starwars": true, "whatever": true, "computer": true, "internet": true,
	"michelle": true, "jennifer": true, "mustang1": true, "shadow12": true,
	"master12": true, "dragon12": true, "monkey12": true, "secret12": true,
}

// CheckPasswordStrength rejects passwords too short or long, passwords of
// one repeated character and the most common passwords. The error message
// is meant to be shown as is to the person choosing the password.
func CheckPasswordStrength(pw string) error {
	if !utf8.ValidString(pw) || strings.ContainsFunc(pw, isControl) {
		return ErrPasswordInvalid
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		return ErrPasswordTooShort
	}
	if n > MaxPasswordLength {
		return ErrPasswordTooLong
	}
	first, _ := utf8.DecodeRuneInString(pw)
	if strings.Trim(pw, string(first)) == "" {
		return ErrPasswordRepeated
	}
	if commonPasswords[strings.ToLower(pw)] {
		return ErrPasswordCommon
	}
	return nil
}

// isControl reports C0 controls and DEL: they cannot be typed reliably in
// every client and some protocols (POP3 PASS, SMTP AUTH) end at CR or LF.
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f
}
