package cli

import (
	"fmt"
	"io"
	"strings"

	"rsc.io/qr"
)

// qrQuiet is the quiet zone around a QR code, in modules: the 4 the
// standard asks for, so that phone cameras find the code on any
// background.
const qrQuiet = 4

// Colours for a terminal: black modules on a white ground, whatever the
// terminal's theme. Without them a dark theme shows the code inverted,
// which many scanners do not read.
const (
	ansiQR    = "\x1b[30;107m"
	ansiReset = "\x1b[0m"
)

// writeQR draws text as a QR code in a terminal. Each character cell holds
// two modules, one above the other, drawn with the half-block characters
// (▀ ▄ █ and space): terminal cells are about twice as tall as wide, so the
// modules come out square and the code half as tall as with one module a
// line. A drawn (foreground) half is a dark module. With ansi, every line is
// coloured black on white.
func writeQR(w io.Writer, text string, ansi bool) error {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return fmt.Errorf("QR code: %w", err)
	}
	dark := func(x, y int) bool {
		return code.Black(x-qrQuiet, y-qrQuiet) // Black is false outside the code: the quiet zone
	}
	n := code.Size + 2*qrQuiet
	var b strings.Builder
	for y := 0; y < n; y += 2 {
		if ansi {
			b.WriteString(ansiQR)
		}
		for x := 0; x < n; x++ {
			top, bottom := dark(x, y), y+1 < n && dark(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteRune(' ')
			}
		}
		if ansi {
			b.WriteString(ansiReset)
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}
