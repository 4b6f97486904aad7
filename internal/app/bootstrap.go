package app

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// loadMasterKey returns the master key: PAIRGATE_MASTER_KEY, or the key
// file, created on a fresh store. A store that already holds keys never
// gets a new master key silently: that would make its keys unreadable.
func loadMasterKey(cfg Config, fresh bool) ([]byte, error) {
	if cfg.MasterKey != "" {
		k, err := secret.ParseMasterKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("PAIRGATE_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	path := cfg.MasterKeyPath()
	k, err := readMasterKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if !fresh {
		return nil, fmt.Errorf("the store already holds keys, but the master key file %s is missing: restore it, or set PAIRGATE_MASTER_KEY", path)
	}
	key := secret.NewMasterKey()
	if err := writeNewFile(path, base64.StdEncoding.EncodeToString(key)+"\n"); errors.Is(err, fs.ErrExist) {
		return readMasterKeyFile(path) // another process won the race
	} else if err != nil {
		return nil, fmt.Errorf("write master key file: %w", err)
	}
	return key, nil
}

// writeNewFile creates path, readable only by its owner, with content; it
// fails with fs.ErrExist when the file is there already.
func writeNewFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(content)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func readMasterKeyFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key file %s can be read by others (mode %04o): run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file: %w", err)
	}
	k, err := secret.ParseMasterKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}

// PasswordFileName is the file in the data directory that holds the first
// admin's generated password until it is first changed.
const PasswordFileName = "initial-admin-password"

// bootstrap creates, on a store without accounts, the default public client
// and the first admin account. Replicas starting together may both try;
// the store's uniqueness lets one of each through.
//
// A generated password is written to a file in the data directory that
// only its owner can read — never to the log or the terminal, which log
// collectors keep — and the terminal says where it is.
func bootstrap(ctx context.Context, cfg Config, store pairgate.Store, now time.Time, log *slog.Logger, out io.Writer) error {
	n, err := store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	err = store.CreateClient(ctx, &pairgate.Client{
		ID: pairgate.DefaultClientID, Name: "Print Client", Public: true,
		GrantTypes: pairgate.AllGrantTypes, Scopes: pairgate.Scopes{"printing"}, CreatedAt: now,
	})
	if err != nil && pairgate.ErrorCode(err) != pairgate.ECONFLICT {
		return fmt.Errorf("create default client: %w", err)
	}
	password, generated := cfg.AdminPassword, false
	if password == "" {
		password, generated = secret.Password(), true
	}
	u := &pairgate.User{ID: secret.NewID("usr_", now), Username: "admin", PasswordHash: secret.HashPassword(password),
		Role: pairgate.RoleAdmin, CreatedAt: now, PasswordChangedAt: now}
	err = store.CreateUser(ctx, u)
	if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create admin account: %w", err)
	}
	log.Info("first start: created the public client and the admin account", "client_id", pairgate.DefaultClientID, "username", "admin")
	if !generated {
		return nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	path, _ := filepath.Abs(filepath.Join(cfg.DataDir, PasswordFileName))
	content := "# The first admin account of pairgate. This file is removed when the\n# password is first changed.\nusername: admin\npassword: " + password + "\n"
	if err := writeNewFile(path, content); err != nil {
		return fmt.Errorf("write the first admin's password to %s: %w", path, err)
	}
	fmt.Fprintf(out, "\n  First start: created the admin account \"admin\".\n  Its password is in %s (readable only by you).\n"+
		"  Sign in at %s/admin/people and change it there; the file goes away then.\n\n", path, cfg.IssuerURL())
	return nil
}

// passwordFile is the first admin's password file, and the account it
// names ("" when there is none).
func (a *App) passwordFile() (path, username string) {
	path = filepath.Join(a.Config.DataDir, PasswordFileName)
	f, err := os.Open(path)
	if err != nil {
		return path, ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "username: "); ok {
			return path, v
		}
	}
	return path, ""
}

// passwordChanged removes the first admin's password file once that
// account's password was changed: it no longer opens anything.
func (a *App) passwordChanged(u *pairgate.User) {
	path, name := a.passwordFile()
	if name != "" && name == u.Username {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.Log.Warn("could not remove the first admin's password file", "path", path, "err", err)
			return
		}
		a.Log.Info("removed the first admin's password file: the password was changed", "path", path)
	}
}

// removeStalePasswordFile removes the password file at start when the
// password was changed meanwhile (on another replica, or by the CLI).
func (a *App) removeStalePasswordFile(ctx context.Context) {
	_, name := a.passwordFile()
	if name == "" {
		return
	}
	u, err := a.Store.GetUserByUsername(ctx, name)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND || (err == nil && u.PasswordChangedAt.After(u.CreatedAt)) {
		a.passwordChanged(&pairgate.User{Username: name})
	}
}
