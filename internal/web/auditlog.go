package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
)

// auditPageSize is how many events one page of the audit log shows.
const auditPageSize = 50

// auditActions are offered as suggestions in the action filter: the
// prefixes that group the actions, then every action.
var auditActions = []string{"signin.", "code.", "device.", "pairing.", "apikey.", "client.", "user.", "refresh.",
	"signing_key.", "ratelimit.", "printer.", "deployment.", "job.",
	pairgate.AuditSignInSucceeded, pairgate.AuditSignInFailed, pairgate.AuditSignOut,
	pairgate.AuditCodeGenerated, pairgate.AuditCodeDeleted, pairgate.AuditCodeRedeemed, pairgate.AuditCodeFailed,
	pairgate.AuditDeviceAuthorized, pairgate.AuditDeviceDeleted, pairgate.AuditPairingApproved, pairgate.AuditPairingDenied, pairgate.AuditPairingRefused,
	pairgate.AuditRefreshReuse, pairgate.AuditAPIKeyUsed, pairgate.AuditAPIKeyCreated, pairgate.AuditAPIKeyDeleted,
	pairgate.AuditKeyRotated, pairgate.AuditClientCreated, pairgate.AuditClientDeleted, pairgate.AuditClientDeviceFlow, pairgate.AuditUserCreated,
	pairgate.AuditUserDeleted, pairgate.AuditPasswordChanged, pairgate.AuditRoleChanged, pairgate.AuditRateLimitUnlocked,
	pairgate.AuditPrinterCreated, pairgate.AuditPrinterUpdated, pairgate.AuditPrinterDeleted,
	pairgate.AuditDeploymentCreated, pairgate.AuditDeploymentDeleted,
	pairgate.AuditJobSubmitted, pairgate.AuditJobReleased, pairgate.AuditJobCompleted, pairgate.AuditJobFailed, pairgate.AuditJobDeleted,
	pairgate.AuditJobExpired}

type auditRow struct {
	ID, Action, ActorType, Actor, Target, IP string
	Time                                     timeView
	Details                                  []detailView
}

type detailView struct{ Key, Value string }

type auditView struct {
	base
	Nav                                 string
	Can                                 consoleCan
	Action, Actor, Target, Since, Until string
	Actions                             []string
	Events                              []auditRow
	NextURL, FirstURL                   string
	Filtered                            bool
	Error                               string
}

// The filter's time fields are what <input type="datetime-local"> sends,
// read as UTC (the page says so); a date alone means its midnight.
var auditTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"}

func parseAuditTime(s string) (time.Time, bool) {
	for _, l := range auditTimeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ConsoleAudit is GET /admin/audit: the audit log, newest first, filtered
// by action (or a prefix such as "signin."), actor (a username or an ID),
// target and time, a page at a time.
func (h *ConsolePages) ConsoleAudit(w http.ResponseWriter, r *http.Request) error {
	u, done, err := h.requireAdmin(w, r)
	if done {
		return err
	}
	if !canOf(u).Audit {
		return h.notForRole(w, u, "The audit log is for admins and auditors, and "+u.Username+" has the "+u.Role+" role.")
	}
	q := r.URL.Query()
	v := auditView{base: h.base("Audit log", u), Nav: "audit", Can: canOf(u), Actions: auditActions,
		Action: strings.TrimSpace(q.Get("action")), Actor: strings.TrimSpace(q.Get("actor")),
		Target: strings.TrimSpace(q.Get("target")), Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until"))}
	v.Wide, v.Script, v.Help = true, copyScriptPath, helpURL("operations") // the script shows times in the viewer's zone
	before := q.Get("before")
	f := pairgate.AuditFilter{Action: v.Action, Target: v.Target, Before: before, Limit: auditPageSize + 1}
	var problems []string
	if len(v.Action) > 64 || len(v.Actor) > 128 || len(v.Target) > 128 || len(before) > 64 {
		problems = append(problems, "A filter is too long.")
		f = pairgate.AuditFilter{Limit: auditPageSize + 1}
		v.Action, v.Actor, v.Target, before = "", "", "", ""
	}
	if v.Actor != "" {
		// A username is what people know; events name accounts by ID.
		f.ActorID = v.Actor
		if acct, err := h.admin.FindUser(r.Context(), v.Actor); err == nil {
			f.ActorID = acct.ID
		} else if pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
			return err
		}
	}
	for _, t := range []struct {
		in   *string
		out  *time.Time
		name string
	}{{&v.Since, &f.Since, "From"}, {&v.Until, &f.Until, "Until"}} {
		if *t.in == "" {
			continue
		}
		tm, ok := parseAuditTime(*t.in)
		if !ok || len(*t.in) > 32 {
			problems = append(problems, t.name+" is not a date and time; use the form 2026-01-31T14:30 (UTC).")
			*t.in = ""
			continue
		}
		*t.out = tm
	}
	status := http.StatusOK
	if len(problems) > 0 {
		v.Error = strings.Join(problems, " ")
		status = http.StatusBadRequest
	}
	v.Filtered = v.Action != "" || v.Actor != "" || v.Target != "" || v.Since != "" || v.Until != ""
	events, err := h.admin.ListAuditEvents(r.Context(), admin.UserActor(u), f)
	if err != nil {
		return err
	}
	filters := url.Values{}
	for k, val := range map[string]string{"action": v.Action, "actor": v.Actor, "target": v.Target, "since": v.Since, "until": v.Until} {
		if val != "" {
			filters.Set(k, val)
		}
	}
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		next := url.Values{}
		for k, val := range filters {
			next[k] = val
		}
		next.Set("before", events[len(events)-1].ID)
		v.NextURL = "/admin/audit?" + next.Encode()
	}
	if before != "" {
		v.FirstURL = "/admin/audit"
		if len(filters) > 0 {
			v.FirstURL += "?" + filters.Encode()
		}
	}
	for _, e := range events {
		row := auditRow{ID: e.ID, Time: timeOf(e.Time), Action: e.Action, ActorType: e.ActorType,
			Actor: e.ActorName, Target: e.Target, IP: e.IP}
		if row.Actor == "" {
			row.Actor = e.ActorID
		}
		keys := make([]string, 0, len(e.Details))
		for k, val := range e.Details {
			if val != "" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			row.Details = append(row.Details, detailView{Key: k, Value: e.Details[k]})
		}
		v.Events = append(v.Events, row)
	}
	return h.render(w, status, "audit", v)
}
