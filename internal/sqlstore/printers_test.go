package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestPrintersAcrossReplicas: a replica that keeps printers and
// deployments in memory sees a change another replica made at its next
// read, whichever store made it: the version in printer_config moves in
// the transaction of every change.
func TestPrintersAcrossReplicas(t *testing.T) {
	for name, dsn := range map[string]string{"sqlite": testenv.SQLiteDSN(t), "postgres": testenv.PostgresDSN(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a, b := open(t, dsn), open(t, dsn)
			now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(a.CreateClient(ctx, &pairgate.Client{ID: "c", Name: "C", Public: true, GrantTypes: pairgate.AllGrantTypes, CreatedAt: now}))
			dev, err := a.IssueRefreshFamily(ctx, &pairgate.Device{ID: "dev_1", ClientID: "c", Name: "lab-1", Mode: pairgate.ModeDevice,
				AuthMethod: pairgate.AuthByAuthorizationCode, AuthorizedAt: now, LastSeenAt: now},
				&pairgate.RefreshFamily{ID: "fam_1", ClientID: "c", CreatedAt: now}, pairgate.NewRefreshToken{Hash: []byte("h"), IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
			must(err)
			names := func(s interface {
				PrintersForDevice(context.Context, *pairgate.Device) ([]pairgate.DevicePrinter, error)
			}) string {
				t.Helper()
				ps, err := s.PrintersForDevice(ctx, dev)
				must(err)
				out := ""
				for _, p := range ps {
					out += fmt.Sprintf("%s:%s:%v ", p.Name, p.Location, p.Default)
				}
				return out
			}
			if got := names(b); got != "" {
				t.Fatalf("before: %q", got)
			}
			p := &pairgate.Printer{ID: "prn_1", Name: "Lab", URI: "ipp://lab/ipp/print", Location: "A", Model: "everywhere", CreatedAt: now, UpdatedAt: now}
			must(a.CreatePrinter(ctx, p))
			must(a.CreateDeployment(ctx, &pairgate.Deployment{ID: "dep_1", PrinterIDs: []string{"prn_1"}, Target: pairgate.DeploymentTarget{All: true}, CreatedAt: now}, now))
			if got := names(b); got != "Lab:A:false " {
				t.Fatalf("b after a's deployment: %q", got)
			}
			p.Location = "B"
			must(a.UpdatePrinter(ctx, p))
			if got := names(b); got != "Lab:B:false " {
				t.Fatalf("b after a's update: %q", got)
			}
			must(b.CreateDeployment(ctx, &pairgate.Deployment{ID: "dep_2", PrinterIDs: []string{"prn_1"}, DefaultPrinterID: "prn_1",
				Target: pairgate.DeploymentTarget{DeviceIDs: []string{"dev_1"}}, CreatedAt: now}, now))
			if got := names(a); got != "Lab:B:true " {
				t.Fatalf("a after b's device deployment: %q", got)
			}
			must(a.DeleteDeployment(ctx, "dep_2"))
			if got := names(b); got != "Lab:B:false " {
				t.Fatalf("b after a deleted the device deployment: %q", got)
			}
			_, err = b.DeletePrinter(ctx, "prn_1")
			must(err)
			if got := names(a); got != "" {
				t.Fatalf("a after b deleted the printer: %q", got)
			}
		})
	}
}
