package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/statuslist"
)

// statusRebuild is how long a replica serves a list it built before it
// reads the revoked indexes again: short against the list's ttl, so that a
// revocation reaches the published list within a second on every replica,
// and long enough that a fleet of resource servers fetching at once costs
// one query per list and second.
const statusRebuild = time.Second

type builtList struct {
	token string
	etag  string
	at    time.Time
}

// statusLists caches the lists this replica built.
type statusLists struct {
	mu    sync.Mutex
	lists map[int64]*builtList
	// one build at a time per replica: concurrent fetches of a stale list
	// wait for the one build rather than each running it.
	build sync.Mutex
}

// StatusList is GET /statuslists/{n}: list n of the token status lists
// (draft-ietf-oauth-status-list), a JWT of type statuslist+jwt signed with
// the access tokens' keys. It holds no secret: any resource server may
// fetch it, and caches may keep it for its ttl.
func (h *Handlers) StatusList(w http.ResponseWriter, r *http.Request) error {
	n, ok := statuslist.ListNumber(r.PathValue("n"))
	if !ok {
		return pairgate.Errorf(pairgate.ENOTFOUND, "no such status list")
	}
	l, err := h.statusList(r, n)
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/statuslist+jwt")
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(h.statusTTL/time.Second)))
	hd.Set("ETag", l.etag)
	if r.Header.Get("If-None-Match") == l.etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	_, err = w.Write([]byte(l.token))
	return err
}

func (h *Handlers) statusList(r *http.Request, n int64) (*builtList, error) {
	now := time.Now()
	h.lists.mu.Lock()
	l := h.lists.lists[n]
	h.lists.mu.Unlock()
	if l != nil && now.Sub(l.at) < statusRebuild {
		return l, nil
	}
	h.lists.build.Lock()
	defer h.lists.build.Unlock()
	h.lists.mu.Lock()
	l = h.lists.lists[n]
	h.lists.mu.Unlock()
	if l != nil && now.Sub(l.at) < statusRebuild {
		return l, nil // another request built it while this one waited
	}
	ctx := r.Context()
	high, err := h.store.StatusIndexHighWater(ctx)
	if err != nil {
		return nil, err
	}
	// A list that no index reaches yet does not exist; list 0 always does.
	if n > 0 && n*statuslist.Size >= high {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "no such status list")
	}
	from := n * statuslist.Size
	set, err := h.store.RevokedStatusIndexes(ctx, from, from+statuslist.Size)
	if err != nil {
		return nil, err
	}
	for i := range set {
		set[i] -= from
	}
	lst, err := statuslist.Encode(statuslist.Size, set)
	if err != nil {
		return nil, pairgate.Internal(err, "encode status list")
	}
	sum := sha256.Sum256([]byte(lst))
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	// A list whose bits did not change keeps its signed token, so that its
	// ETag stays valid and consumers revalidating it get 304.
	if l != nil && l.etag == etag {
		l = &builtList{token: l.token, etag: etag, at: now}
	} else {
		tok, err := h.tokens.StatusListToken(ctx, n, lst, h.statusTTL)
		if err != nil {
			return nil, err
		}
		l = &builtList{token: tok, etag: etag, at: now}
	}
	h.lists.mu.Lock()
	if h.lists.lists == nil || len(h.lists.lists) > 1024 {
		h.lists.lists = map[int64]*builtList{}
	}
	h.lists.lists[n] = l
	h.lists.mu.Unlock()
	return l, nil
}
