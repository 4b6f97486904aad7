package server

import (
	"net/http"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/api"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/oauth"
)

// routes is every URL pairgate serves. Paths marked "contract" in docs/design.md
// section 1 must not change.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	o, a := s.oauth, s.api

	// post registers an OAuth POST endpoint and a JSON 405 for the other
	// methods on the same path.
	post := func(path string, h http.Handler) {
		mux.Handle("POST "+path, h)
		mux.Handle(path, oauth.MethodNotAllowed("POST"))
	}
	get := func(path string, h http.Handler) {
		mux.Handle("GET "+path, h)
		mux.Handle(path, oauth.MethodNotAllowed("GET, HEAD"))
	}

	// Discovery.
	get("/.well-known/oauth-authorization-server", o.Handle(o.Metadata))
	get("/.well-known/openid-configuration", o.Handle(o.Metadata))
	get("/.well-known/jwks.json", o.Handle(o.JWKS))
	// Token status lists (draft-ietf-oauth-status-list).
	get("/statuslists/{n}", o.Handle(o.StatusList))

	// OAuth endpoints. {$} pins a trailing-slash path to itself rather
	// than its whole subtree.
	post("/oauth/device/code", o.Handle(o.DeviceAuthorization))
	post("/oauth/pair", o.Handle(o.Pair))
	post("/oauth/pair/{$}", o.Handle(o.Pair))
	post("/oauth/token", o.Handle(o.Token))
	post("/oauth/access_token", o.Handle(o.Token))
	post("/oauth/access_token/{$}", o.Handle(o.Token))
	post("/oauth/revoke", o.Handle(o.Revoke))
	post("/oauth/introspect", o.Handle(o.Introspect))
	mux.HandleFunc("/oauth/", oauth.NotFound)

	// JSON API.
	// apiRoute registers an API endpoint; every API path answers the
	// methods it does not serve with a JSON 405 that lists the ones it does.
	allowed := map[string][]string{}
	var paths []string
	apiRoute := func(method, path string, h http.Handler) {
		mux.Handle(method+" "+path, h)
		if allowed[path] == nil {
			paths = append(paths, path)
		}
		allowed[path] = append(allowed[path], method)
	}
	apiRoute("GET", "/api/v1/device", a.Handle(a.Device))
	apiRoute("GET", "/api/v1/device/printers", a.Handle(a.DevicePrinters))
	{
		adm := a.Admin
		apiRoute("POST", "/api/v1/authorization-codes", adm(a.CreateCode))
		apiRoute("GET", "/api/v1/authorization-codes", adm(a.ListCodes))
		apiRoute("DELETE", "/api/v1/authorization-codes/{id}", adm(a.DeleteCode))
		apiRoute("GET", "/api/v1/authorization-codes/{id}/devices", adm(a.CodeDevices))
		apiRoute("POST", "/api/v1/authorization-codes/{id}/revoke-devices", adm(a.RevokeCodeDevices))
		apiRoute("GET", "/api/v1/devices", adm(a.ListDevices))
		apiRoute("GET", "/api/v1/devices/{id}", adm(a.GetDevice))
		apiRoute("DELETE", "/api/v1/devices/{id}", adm(a.DeleteDevice))
		apiRoute("POST", "/api/v1/clients", adm(a.CreateClient))
		apiRoute("GET", "/api/v1/clients", adm(a.ListClients))
		apiRoute("POST", "/api/v1/printers", adm(a.CreatePrinter))
		apiRoute("GET", "/api/v1/printers", adm(a.ListPrinters))
		apiRoute("GET", "/api/v1/printers/{id}", adm(a.GetPrinter))
		apiRoute("PATCH", "/api/v1/printers/{id}", adm(a.UpdatePrinter))
		apiRoute("DELETE", "/api/v1/printers/{id}", adm(a.DeletePrinter))
		apiRoute("POST", "/api/v1/printers/{id}/check", adm(a.CheckPrinter))
		apiRoute("POST", "/api/v1/deployments", adm(a.CreateDeployment))
		apiRoute("GET", "/api/v1/deployments", adm(a.ListDeployments))
		apiRoute("DELETE", "/api/v1/deployments/{id}", adm(a.DeleteDeployment))
		apiRoute("GET", "/api/v1/clients/{id}", adm(a.GetClient))
		apiRoute("PATCH", "/api/v1/clients/{id}", adm(a.UpdateClient))
		apiRoute("DELETE", "/api/v1/clients/{id}", adm(a.DeleteClient))
		apiRoute("POST", "/api/v1/clients/{id}/secret", adm(a.RotateClientSecret))
		apiRoute("PUT", "/api/v1/clients/{id}/device-flow", adm(a.SetClientDeviceFlow))
		apiRoute("POST", "/api/v1/api-keys", a.Handle(a.CreateAPIKey))
		apiRoute("GET", "/api/v1/api-keys", adm(a.ListAPIKeys))
		apiRoute("DELETE", "/api/v1/api-keys/{id}", adm(a.DeleteAPIKey))
		apiRoute("GET", "/api/v1/users", adm(a.ListUsers))
		apiRoute("POST", "/api/v1/users", adm(a.CreateUser))
		apiRoute("DELETE", "/api/v1/users/{id}", adm(a.DeleteUser))
		apiRoute("PUT", "/api/v1/users/{id}/password", adm(a.SetPassword))
		apiRoute("PUT", "/api/v1/users/{id}/role", adm(a.SetRole))
		apiRoute("GET", "/api/v1/audit-events", adm(a.ListAuditEvents))
		apiRoute("POST", "/api/v1/lockouts/clear", adm(a.ClearLockout))
		apiRoute("GET", "/api/v1/lockouts", adm(a.ListLockouts))
		apiRoute("POST", "/api/v1/lockouts/{id}/lift", adm(a.LiftLockout))
	}
	for _, p := range paths {
		mux.Handle(p, api.MethodNotAllowed(allowed[p]))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		api.WriteError(w, r, pairgate.Errorf(pairgate.ENOTFOUND, "no such endpoint"))
	})

	// Operations.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)

	// Browser pages (HTML errors, CSRF protection, their own CSP). Each
	// path answers its other methods with a 405 page.
	if w := s.pages; w != nil {
		page := func(path string, get, post httpx.HandlerFunc) {
			allow := "GET, HEAD"
			if get != nil {
				mux.Handle("GET "+path, w.Page(get))
			}
			if post != nil {
				mux.Handle("POST "+path, w.Page(post))
				allow = "POST"
				if get != nil {
					allow = "GET, HEAD, POST"
				}
			}
			mux.Handle(path, w.MethodNotAllowed(allow))
		}
		si, co, po, cn := w.SignIn, w.Consent, w.Portal, w.Console
		page("/{$}", si.Home, nil)
		page("/auth/signin/{$}", si.SignIn, si.SignInPost)
		page("/auth/signout", si.SignOutPage, si.SignOut)
		page("/auth/oidc/{provider}", si.UpstreamStartPage, si.UpstreamStart)
		page("/auth/oidc/{provider}/callback", si.UpstreamCallback, nil)
		page("/device", co.Device, co.DevicePost)
		page("/oauth/authorize/pairing/{$}", co.Pairing, co.PairingPost)
		page("/portal", po.Portal, po.PortalPost)
		// The Release Portal.
		rp := w.Release
		page("/release", rp.Release, rp.ReleasePost)
		page("/release/jobs/{id}/delete", nil, rp.DeleteJob)
		page("/release/purge", nil, rp.Purge)
		// The Admin Console.
		page("/admin", cn.Console, nil)
		page("/admin/audit", cn.ConsoleAudit, nil)
		page("/admin/codes", nil, cn.ConsoleGenerate)
		page("/admin/codes/{id}/delete", nil, cn.ConsoleDeleteCode)
		page("/admin/devices/{id}/delete", nil, cn.ConsoleDeleteDevice)
		page("/admin/devices/{id}/rename", nil, cn.ConsoleRenameDevice)
		page("/admin/devices/delete", cn.ConsoleBulkDeletePage, cn.ConsoleBulkDelete)
		page("/admin/devices.csv", cn.ConsoleDevicesCSV, nil)
		page("/admin/codes/{id}/signout-devices", nil, cn.ConsoleSignOutCodeDevices)
		page("/admin/people", cn.ConsolePeople, cn.ConsoleCreateUser)
		page("/admin/password", nil, cn.ConsoleOwnPassword)
		page("/admin/people/{id}/role", nil, cn.ConsoleSetRole)
		page("/admin/people/{id}/password", nil, cn.ConsoleResetPassword)
		page("/admin/people/{id}/delete", nil, cn.ConsoleDeleteUser)
		page("/admin/apikeys", nil, cn.ConsoleCreateAPIKey)
		page("/admin/apikeys/{id}/delete", nil, cn.ConsoleDeleteAPIKey)
		page("/admin/lockouts/clear", nil, cn.ConsoleClearLockout)
		page("/admin/lockouts/{id}/lift", nil, cn.ConsoleLiftLockout)
		page("/admin/clients", cn.ConsoleClients, cn.ConsoleCreateClient)
		page("/admin/clients/{id}/edit", nil, cn.ConsoleEditClient)
		page("/admin/clients/{id}/secret", nil, cn.ConsoleRotateClientSecret)
		page("/admin/clients/{id}/delete", nil, cn.ConsoleDeleteClient)
		page("/admin/printers", cn.ConsolePrinters, cn.ConsoleCreatePrinter)
		page("/admin/printers/{id}/edit", nil, cn.ConsoleEditPrinter)
		page("/admin/printers/{id}/check", nil, cn.ConsoleCheckPrinter)
		page("/admin/printers/{id}/delete", nil, cn.ConsoleDeletePrinter)
		page("/admin/deployments", nil, cn.ConsoleCreateDeployment)
		page("/admin/deployments/{id}/delete", nil, cn.ConsoleDeleteDeployment)
		mux.Handle("GET /admin/{$}", w.Page(cn.RemoveSlash))
		mux.Handle("GET /device/{$}", w.Page(cn.RemoveSlash))
		mux.Handle("GET /portal/{$}", w.Page(cn.RemoveSlash))
		// The pairing dialect's auth_url has the trailing slash; the bare
		// forms are common typing.
		mux.Handle("GET /auth/signin", w.Page(si.AddSlash))
		mux.Handle("GET /oauth/authorize/pairing", w.Page(si.AddSlash))
		mux.Handle("GET /assets/style.css", w.Stylesheet())
		mux.Handle("GET /assets/copy.js", w.CopyScript())
		// Everything else is a page that does not exist.
		mux.Handle("/", w.NotFound())
	}
	return mux
}
