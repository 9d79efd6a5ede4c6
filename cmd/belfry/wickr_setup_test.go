package main

import (
	"context"
	"reflect"
	"testing"
	"time"

	wickrnetworksapi "github.com/belfry/belfry/api/wickr/networks"
	"github.com/belfry/belfry/api/wickr/securitygroups"
	"github.com/belfry/belfry/domain/wickr/network"
	"github.com/belfry/belfry/domain/wickr/roster"
	sg "github.com/belfry/belfry/domain/wickr/securitygroup"
	auditrm "github.com/belfry/belfry/projections/audit"
	"github.com/belfry/belfry/projections/wickrnetworks"
)

func init() {
	boto3Setups["test_security_group_users"] = seedGroupUsers
	boto3Checks["test_audit"] = checkWickrAudit
}

// checkWickrAudit: every Wickr call of test_audit.py has its CloudTrail-shaped record, with eventSource
// wickr.amazonaws.com, the credential scope's region and the model's error codes.
func checkWickrAudit(t *testing.T, b *running) {
	t.Helper()
	store := auditrm.NewStore(pgxPool(t, b))
	want := map[string]string{"CreateNetwork": "", "CreateNetwork/ValidationError": "ValidationError", "ListNetworks": "ForbiddenError"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := store.Lookup(context.Background(), auditrm.Query{AwsAccountID: b.awsAcct})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range recs {
			if r.EventSource != "wickr.amazonaws.com" {
				continue
			}
			if r.AWSRegion != "eu-west-2" {
				t.Fatalf("%s recorded in %q, not the scope's region", r.EventName, r.AWSRegion)
			}
			key := r.EventName
			if r.EventName == "CreateNetwork" && r.ErrorCode != "" {
				key += "/" + r.ErrorCode
			}
			got[key] = r.ErrorCode
		}
		if reflect.DeepEqual(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Wickr audit records %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// seedGroupUsers makes a network "Directory" with a group "Field" and writes users through the roster
// decider (the users slice is built beside this one): alice, bob and carol (ids 1001–1003) and dave
// (2001, another roster block) in Field, erin (1004) in the default group. The Python file gets
// NETWORK_ID, FIELD_GROUP_ID and DEFAULT_GROUP_ID.
func seedGroupUsers(t *testing.T, b *running) map[string]string {
	t.Helper()
	ctx := context.Background()
	w := b.m.wickr
	n, err := w.networks.CreateNetwork(ctx, b.awsAcct, "us-east-1", wickrNetworkInput("Directory"))
	if err != nil {
		t.Fatal(err)
	}
	caller := securitygroups.Caller{AwsAccountID: b.awsAcct, Region: "us-east-1"}
	field, err := w.groups.CreateGroup(ctx, caller, n.ID, "Field", sg.Patch{}, "")
	if err != nil {
		t.Fatal(err)
	}
	groups, _, err := w.groups.List(ctx, caller, n.ID, wickrnetworks.Page{Sort: "id", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	policy := roster.Policy{Groups: map[string]sg.Settings{}}
	var def string
	for _, g := range groups {
		policy.Groups[g.ID] = g.Settings
		if g.IsDefault {
			def = g.ID
		}
	}
	user := func(id, name, first, last, group string) roster.NewUser {
		return roster.NewUser{UserID: id, Username: name + "@example.com", FirstName: first, LastName: last, SecurityGroupIDs: []string{group}}
	}
	for _, items := range [][]roster.NewUser{
		{user("1001", "alice", "Alice", "Zimmer", field.ID), user("1002", "bob", "Bob", "Young", field.ID),
			user("1003", "carol", "Carol", "Xu", field.ID), user("1004", "erin", "Erin", "Wolf", def)},
		{user("2001", "dave", "Dave", "Adams", field.ID)},
	} {
		cmd := roster.CreateUsers{NetworkID: n.ID, Items: items, Policy: policy}
		if _, _, err := w.rosters.Command(roster.StreamName(n.ID, items[0].UserID), cmd).Do(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"NETWORK_ID": n.ID, "FIELD_GROUP_ID": field.ID, "DEFAULT_GROUP_ID": def}
}

func wickrNetworkInput(name string) wickrnetworksapi.CreateInput {
	return wickrnetworksapi.CreateInput{Name: name, AccessLevel: network.Premium}
}
