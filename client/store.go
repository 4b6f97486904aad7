package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/oauth2"
)

// Credentials are what a device keeps between runs: its tokens and where to
// use them. They are secrets: keep them where only the device's own account
// can read them.
type Credentials struct {
	Issuer             string    `json:"issuer"`
	ClientID           string    `json:"client_id"`
	ClientSecret       string    `json:"client_secret,omitempty"`
	TokenEndpoint      string    `json:"token_endpoint"`
	RevocationEndpoint string    `json:"revocation_endpoint,omitempty"`
	AccessToken        string    `json:"access_token"`
	TokenType          string    `json:"token_type"`
	RefreshToken       string    `json:"refresh_token"`
	Expiry             time.Time `json:"expiry"`
	Scope              string    `json:"scope,omitempty"`
	DeviceID           string    `json:"device_id,omitempty"`
	Mode               string    `json:"mode,omitempty"` // user or device
	DeviceName         string    `json:"device_name,omitempty"`
	HardwareID         string    `json:"hardware_id,omitempty"`
	Method             string    `json:"authorized_by,omitempty"` // device_code, pairing or authorization_code
	AuthorizedAt       time.Time `json:"authorized_at"`
	RefreshedAt        time.Time `json:"refreshed_at,omitzero"`
	// Key is the device's DPoP key (RFC 9449), nil for a Bearer device.
	// The server binds the device and its tokens to it: TokenSource and
	// Whoami sign their requests with it.
	Key *DeviceKey `json:"dpop_key,omitempty"`
}

// Token returns the credentials as an oauth2.Token.
func (c *Credentials) Token() *oauth2.Token {
	return &oauth2.Token{AccessToken: c.AccessToken, TokenType: c.TokenType, RefreshToken: c.RefreshToken, Expiry: c.Expiry}
}

// setToken takes the tokens of a token response.
func (c *Credentials) setToken(tok *oauth2.Token) {
	c.AccessToken, c.TokenType, c.Expiry = tok.AccessToken, tok.TokenType, tok.Expiry.UTC()
	if tok.RefreshToken != "" {
		c.RefreshToken = tok.RefreshToken
	}
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		c.Scope = s
	}
	if id := deviceIDOf(tok.AccessToken); id != "" {
		c.DeviceID = id
	}
}

// deviceIDOf reads the device_id claim of a JWT access token without
// verifying it: it is shown to people, never trusted for a decision.
func deviceIDOf(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		DeviceID string `json:"device_id"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.DeviceID
}

// Store keeps a device's credentials between runs.
type Store interface {
	// Load returns the stored credentials, or an error wrapping
	// ErrNoCredentials when there are none.
	Load(ctx context.Context) (*Credentials, error)
	// Save replaces the stored credentials. It must be atomic and durable
	// when it returns: after a crash at any point, Load returns either the
	// old or the new credentials, never a mixture or nothing.
	Save(ctx context.Context, c *Credentials) error
}

// Locker is implemented by a Store that several processes share.
// TokenSource holds the lock from reading the credentials to saving the
// refreshed ones, so that two processes never rotate the same refresh
// token.
type Locker interface {
	// Lock waits for the lock, or for ctx to end, and returns the function
	// that releases it.
	Lock(ctx context.Context) (unlock func(), err error)
}

// FileStore keeps credentials in a JSON file that only its owner may read
// (mode 0600, in a 0700 directory). It refuses a file that others can read,
// writes atomically (temporary file, fsync, rename, fsync of the
// directory), and locks a file next to it (Path + ".lock") for Locker.
type FileStore struct {
	Path string
}

var (
	_ Store  = (*FileStore)(nil)
	_ Locker = (*FileStore)(nil)
)

// ErrInsecureFile is returned for a credentials file that other users can
// read or change.
var ErrInsecureFile = errors.New("the credentials file is accessible to other users")

// DefaultFile is where `pairgate device` keeps its credentials: pairgate/device.json
// in the user's configuration directory (os.UserConfigDir).
func DefaultFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration directory for the credentials file (%w); give one explicitly", err)
	}
	return filepath.Join(dir, "pairgate", "device.json"), nil
}

// Load reads the credentials.
func (f *FileStore) Load(ctx context.Context) (*Credentials, error) {
	fh, err := os.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoCredentials, f.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	defer fh.Close()
	// Checked on the open file, not the path, so that the file read is the
	// file checked.
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	if err := checkPrivate(f.Path, st); err != nil {
		return nil, err
	}
	var c Credentials
	dec := json.NewDecoder(fh)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("read credentials %s: %w", f.Path, err)
	}
	if c.RefreshToken == "" || c.TokenEndpoint == "" {
		return nil, fmt.Errorf("read credentials %s: no refresh token or token endpoint in it", f.Path)
	}
	return &c, nil
}

func checkPrivate(path string, st fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil // permission bits mean nothing there; the profile directory is private
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; run chmod 600 %s", ErrInsecureFile, path, perm, path)
	}
	return nil
}

// Save writes the credentials atomically and durably.
func (f *FileStore) Save(ctx context.Context, c *Credentials) error {
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	// CreateTemp makes the file 0600 before anything is written to it.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	// The data must be on disk before the rename makes it the file, or a
	// power cut could leave the new name pointing at an empty file.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	done = true
	// And the rename itself must be on disk before the new token is used:
	// until then a crash could bring back the old file, whose refresh token
	// the server has already rotated.
	return syncDir(dir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for fsync; MoveFileEx is durable there
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save credentials: sync %s: %w", dir, err)
	}
	return nil
}

// Remove deletes the credentials file. Removing a file that does not
// exist is not an error.
func (f *FileStore) Remove() error {
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove credentials: %w", err)
	}
	return syncDir(filepath.Dir(f.Path))
}

// Lock takes an exclusive lock on Path + ".lock", waiting for other
// processes to release it. The lock file stays: deleting it while another
// process waits on it would let a third take a lock on a new file.
func (f *FileStore) Lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return nil, fmt.Errorf("lock credentials: %w", err)
	}
	l := flock.New(f.Path+".lock", flock.SetPermissions(0o600))
	ok, err := l.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil {
		return nil, fmt.Errorf("lock credentials: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("lock credentials: %w", ctx.Err())
	}
	return func() { l.Unlock() }, nil
}
