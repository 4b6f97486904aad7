package server

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// CertReloader serves a certificate from files and picks up a renewed one
// (certbot, cert-manager) without a restart: on a handshake at most once a
// second it looks at the files' modification times and reloads when they
// changed. A broken renewal keeps the previous certificate in service.
type CertReloader struct {
	certFile, keyFile string
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
	err     error
}

// NewCertReloader loads the certificate and key, failing if they do not load.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile, now: time.Now}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *CertReloader) fileStamp() (string, error) {
	a, err := os.Stat(r.certFile)
	if err != nil {
		return "", err
	}
	b, err := os.Stat(r.keyFile)
	if err != nil {
		return "", err
	}
	return fmt.Sprint(a.ModTime().UnixNano(), a.Size(), b.ModTime().UnixNano(), b.Size()), nil
}

func (r *CertReloader) reload() error {
	stamp, err := r.fileStamp()
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	r.cert, r.stamp = &c, stamp
	return nil
}

// GetCertificate is a tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= time.Second {
		r.checked = now
		if stamp, err := r.fileStamp(); err == nil && stamp != r.stamp {
			// Files may be mid-write; a failed load is retried next second.
			r.err = r.reload()
		}
	}
	return r.cert, nil
}

// TLSConfig returns a server TLS configuration using the reloader.
func (r *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}
