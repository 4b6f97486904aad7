package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/sqlstore"
)

// isFresh reports whether the store has never been started: no signing key
// and no account.
func isFresh(ctx context.Context, store *sqlstore.Store, now time.Time) (bool, error) {
	keys, err := store.ListSigningKeys(ctx, now)
	if err != nil {
		return false, err
	}
	n, err := store.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	return len(keys) == 0 && n == 0, nil
}

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
	k, err := readMasterKeyFile(cfg.MasterKeyFile)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if !fresh {
		return nil, fmt.Errorf("the store already holds keys, but the master key file %s is missing: restore it, or set PAIRGATE_MASTER_KEY", cfg.MasterKeyFile)
	}
	key := secret.NewMasterKey()
	f, err := os.OpenFile(cfg.MasterKeyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readMasterKeyFile(cfg.MasterKeyFile) // another process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("create master key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(cfg.MasterKeyFile)
		return nil, fmt.Errorf("write master key file: %w", err)
	}
	return key, nil
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

// bootstrap creates, on a store without accounts, the default public client
// and the first admin account. Replicas starting together may both try;
// the store's uniqueness lets one of each through.
func bootstrap(ctx context.Context, cfg Config, store pairgate.Store, log *slog.Logger, out io.Writer) error {
	n, err := store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	now := cfg.Now()
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
	err = store.CreateUser(ctx, &pairgate.User{
		ID: secret.NewID("usr_", now), Username: "admin", PasswordHash: secret.HashPassword(password),
		Role: pairgate.RoleAdmin, CreatedAt: now, PasswordChangedAt: now,
	})
	if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create admin account: %w", err)
	}
	log.Info("first start: created the public client and the admin account", "client_id", pairgate.DefaultClientID, "username", "admin")
	if generated {
		// Straight to the terminal, never to the log: this is the only time
		// the password exists in plaintext.
		fmt.Fprintf(out, "\n  First start: created admin account \"admin\" with password\n\n      %s\n\n  It is shown only this once. Sign in at %s/admin and change it.\n\n", password, cfg.Issuer)
	}
	return nil
}
