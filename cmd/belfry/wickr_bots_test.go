package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/belfry/belfry/api/wickr/usecase"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/infra/eventstore"
)

// The boto3 files of the bots and the data-retention bot get a helper endpoint that stands in for
// the bots' client (the client API is built with messaging): BELFRY_BOT_CLIENT_URL.
func init() {
	boto3Setups["test_bots"] = botClientSetup
	boto3Setups["test_retention"] = botClientSetup
}

// botClientSetup serves POST /bots/signin {networkId, botId, password}: a bot signs in with its
// password through the bots slice (204, or 403 for a wrong password or a suspended bot); POST
// /retention/register {networkId, password}: the data-retention bot registers with its challenge
// and gets its generated password ({"password"}, or 403). Beside them,
// GET and POST /networks/{id}/groups list a network's security groups (the default first) and add
// one through the network decider, for the bots' groupId.
func botClientSetup(t *testing.T, b *running) map[string]string {
	mux := http.NewServeMux()
	groupsHelper(t, b, mux)
	mux.HandleFunc("POST /bots/signin", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ NetworkID, BotID, Password string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := b.m.wickr.bots.SignIn(r.Context(), in.NetworkID, in.BotID, in.Password); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /retention/register", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ NetworkID, Password string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		pw, err := b.m.wickr.retention.RegisterBot(r.Context(), in.NetworkID, in.Password)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"password": pw})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return map[string]string{"BELFRY_BOT_CLIENT_URL": srv.URL}
}

func groupsHelper(t *testing.T, b *running, mux *http.ServeMux) {
	client, err := eventstore.Connect(b.m.EmbeddedLogURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	repo := eventstore.NewRepository(client, wickrNetworkDecider, time.Now)
	mux.HandleFunc("GET /networks/{id}/groups", func(w http.ResponseWriter, r *http.Request) {
		st, _, err := repo.Load(r.Context(), network.StreamName(r.PathValue("id")))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		groups := []string{st.DefaultGroupID}
		for id := range st.Groups {
			if id != st.DefaultGroupID {
				groups = append(groups, id)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"default": st.DefaultGroupID, "groups": groups})
	})
	mux.HandleFunc("POST /networks/{id}/groups", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		gid := usecase.NewGroupID(id, "")
		if _, err := repo.Execute(r.Context(), network.StreamName(id), network.CreateGroup{NetworkID: id, GroupID: gid, Name: "Group " + gid}); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"id": gid})
	})
}
