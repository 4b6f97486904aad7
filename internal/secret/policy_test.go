package secret

import "testing"

func TestCheckNewPassword(t *testing.T) {
	for _, bad := range []string{"x", "short", "password123", "Password123", "CHANGEME", "12345678", string(make([]byte, MaxPasswordBytes+1))} {
		if CheckNewPassword(bad) == nil {
			t.Errorf("%.20q accepted", bad)
		}
	}
	for _, good := range []string{"correct horse battery staple", "Tr0ub4dor&3x", "ein langes Passwort"} {
		if err := CheckNewPassword(good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
	if len(commonPasswords()) < 100 {
		t.Fatalf("the common password list has only %d entries", len(commonPasswords()))
	}
}
