package users_test

import (
	"context"
	"testing"

	"github.com/belfry/belfry/domain/wickr/network"
)

// TestBatchCreateRetryAtTrialCap: a BatchCreateUser retried with its X-Client-Token completes the
// first request and answers its users (package doc), also when the first request filled the Premium
// free trial's seats: the users it already recorded take no seat again.
func TestBatchCreateRetryAtTrialCap(t *testing.T) {
	h := newHarness(t, true)
	ctx := context.Background()
	if _, err := h.svc.BatchCreateUser(ctx, testAccount, testRegion, testNetwork, "", items(0, network.TrialUserCap-5)); err != nil {
		t.Fatal(err)
	}
	first, err := h.svc.BatchCreateUser(ctx, testAccount, testRegion, testNetwork, "retry-token", items(100, 5))
	if err != nil || len(first.Successful) != 5 || len(first.Failed) != 0 {
		t.Fatalf("first request: %+v %v", first, err)
	}
	if got := h.seats(t); got != network.TrialUserCap {
		t.Fatalf("seats %d, want %d", got, network.TrialUserCap)
	}
	again, err := h.svc.BatchCreateUser(ctx, testAccount, testRegion, testNetwork, "retry-token", items(100, 5))
	if err != nil {
		t.Fatalf("the retried request is refused: %v", err)
	}
	if len(again.Successful) != 5 || len(again.Failed) != 0 {
		t.Fatalf("retry answered %+v, want the first answer %+v", again, first)
	}
	for i, u := range again.Successful {
		if u.UserID != first.Successful[i].UserID || u.Username != first.Successful[i].Username {
			t.Fatalf("retry user %d is %+v, want %+v", i, u, first.Successful[i])
		}
	}
	if got := h.seats(t); got != network.TrialUserCap {
		t.Fatalf("seats after the retry %d, want %d", got, network.TrialUserCap)
	}
	// A new request beyond the cap is still refused.
	if _, err := h.svc.BatchCreateUser(ctx, testAccount, testRegion, testNetwork, "other-token", items(200, 1)); err == nil {
		t.Fatal("a user beyond the trial's cap was created")
	}
}

// TestBatchDeleteRetry: a BatchDeleteUser retried with its X-Client-Token answers as the first
// request did (its users successful, not "not found"), and gives back no seat twice; another request
// for the same users finds them deleted.
func TestBatchDeleteRetry(t *testing.T) {
	h := newHarness(t, false)
	ctx := context.Background()
	made, err := h.svc.BatchCreateUser(ctx, testAccount, testRegion, testNetwork, "", items(0, 3))
	if err != nil || len(made.Successful) != 3 {
		t.Fatalf("create: %+v %v", made, err)
	}
	ids := []string{made.Successful[0].UserID, made.Successful[1].UserID}
	first, err := h.svc.BatchDeleteUser(ctx, testAccount, testRegion, testNetwork, "delete-token", ids)
	if err != nil || len(first.Successful) != 2 || len(first.Failed) != 0 {
		t.Fatalf("first request: %+v %v", first, err)
	}
	if got := h.seats(t); got != 1 {
		t.Fatalf("seats %d, want 1", got)
	}
	again, err := h.svc.BatchDeleteUser(ctx, testAccount, testRegion, testNetwork, "delete-token", ids)
	if err != nil || len(again.Successful) != 2 || len(again.Failed) != 0 {
		t.Fatalf("retry answered %+v %v, want the first answer %+v", again, err, first)
	}
	if got := h.seats(t); got != 1 {
		t.Fatalf("seats after the retry %d, want 1", got)
	}
	other, err := h.svc.BatchDeleteUser(ctx, testAccount, testRegion, testNetwork, "another-token", ids[:1])
	if err != nil || len(other.Successful) != 0 || len(other.Failed) != 1 {
		t.Fatalf("another request for a deleted user: %+v %v, want it refused", other, err)
	}
	if other, err := h.svc.BatchDeleteUser(ctx, testAccount, testRegion, testNetwork, "", ids[:1]); err != nil || len(other.Failed) != 1 {
		t.Fatalf("a request without a token for a deleted user: %+v %v, want it refused", other, err)
	}
}
