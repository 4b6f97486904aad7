package secret

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
)

//go:embed data/common-passwords.txt
var commonPasswordList []byte

var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordList))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			m[l] = true
		}
	}
	return m
})

// CheckNewPassword says why a password someone chose may not be used:
// shorter than MinPasswordLength, longer than MaxPasswordBytes, or one of
// the passwords attackers try first (NIST SP 800-63B §5.1.1.2 asks for
// that check). nil when it may be used.
func CheckNewPassword(p string) error {
	switch {
	case len([]rune(p)) < MinPasswordLength:
		return fmt.Errorf("the password must be at least %d characters", MinPasswordLength)
	case len(p) > MaxPasswordBytes:
		return fmt.Errorf("the password must be at most %d bytes", MaxPasswordBytes)
	case commonPasswords()[strings.ToLower(p)]:
		return errors.New("that password is one of the first that attackers try; choose another")
	}
	return nil
}
