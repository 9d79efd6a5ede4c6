package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's chromium (or another Chrome) on PATH.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed: `apt-get install -y chromium` (scripts/test.sh installs it)")
	return ""
}

// browser starts a headless Chromium whose camera and microphone are Chromium's fake devices,
// granted without a prompt.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// signInAndJoin drives the web client: sign in, join the meeting; it returns the attendee id.
func signInAndJoin(t *testing.T, ctx context.Context, url, email, meetingID string) string {
	t.Helper()
	return signInAndJoinPage(t, ctx, url+"/client/v1/meet", email, meetingID)
}

// signInAndJoinPage is signInAndJoin on the page at page (with its query).
func signInAndJoinPage(t *testing.T, ctx context.Context, page, email, meetingID string) string {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse"),
		chromedp.Click(chromedp.ID("signin-button")),
		chromedp.WaitVisible(chromedp.ID("meeting")),
		chromedp.SendKeys(chromedp.ID("meeting"), meetingID),
		chromedp.Click(chromedp.ID("join-button")),
	)
	if err != nil {
		t.Fatalf("%s joins: %v", email, err)
	}
	id, err := chromedp.Run(ctx, chromedp.Poll[string]("window.belfryAttendee", chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("status").textContent`))
		t.Fatalf("%s never joined: %v (page says %q)", email, err, status)
	}
	return id
}

// framesFrom is how many video frames the page decoded from an attendee.
func framesFrom(t *testing.T, ctx context.Context, attendee string) float64 {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64]("framesReceived()", chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return got[attendee]
}

// TestBrowsersSeeEachOther: two headless Chromiums with fake cameras sign in on Belfry's web page,
// join one meeting, and each decodes the other's video: the frame count grows; a line typed in the
// page's meeting chat appears on both pages, markup shown as text.
func TestBrowsersSeeEachOther(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	b, id, _, _, _ := meetingWith(t, nil)
	alice, bob := browser(t, exe), browser(t, exe)
	start := time.Now()
	aliceID := signInAndJoin(t, alice, b.url, "alice@media.example", id)
	bobID := signInAndJoin(t, bob, b.url, "bob@media.example", id)
	for deadline := time.Now().Add(20 * time.Second); framesFrom(t, alice, bobID) == 0 || framesFrom(t, bob, aliceID) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no frames both ways:\nalice %s\nbob %s", pageState(alice), pageState(bob))
		}
	}
	t.Logf("both browsers decoding the other's video %v after the first page load", time.Since(start).Round(time.Millisecond))
	a, bo := framesFrom(t, alice, bobID), framesFrom(t, bob, aliceID)
	until(t, "the frame counts to grow", func() bool { return framesFrom(t, alice, bobID) > a+10 && framesFrom(t, bob, aliceID) > bo+10 })

	// The page's meeting chat: alice's two lines reach bob's page (pushed) and her own, as text.
	const hostile = `<img src=x onerror="window.pwned=1">`
	for _, text := range []string{"hello from alice", hostile} {
		if err := chromedp.Do(alice, chromedp.SetValue(chromedp.ID("chat-text"), text), chromedp.Click(chromedp.ID("chat-send"))); err != nil {
			t.Fatal(err)
		}
		until(t, "the line to be shown", func() bool {
			for _, page := range []context.Context{alice, bob} {
				lines, err := chromedp.Run(page, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#chat-log li")].map(li => li.textContent)`))
				if err != nil || len(lines) == 0 || !strings.HasSuffix(lines[len(lines)-1], ": "+text) {
					return false
				}
			}
			return true
		})
	}
	if pwned, err := chromedp.Run(bob, chromedp.Evaluate[bool](`window.pwned === 1 || document.querySelector("#chat-log img") !== null`)); err != nil || pwned {
		t.Fatalf("the chat text was taken as markup: %v %v", pwned, err)
	}
}

// TestBrowserSendsSimulcast: a browser that joins with ?simulcast=1 is asked for its camera's layers
// in the SFU's first offer and sends them (its sender's encodings are q, h and f; the SFU receives
// them as simulcast layers); the other browser, which sends no REMB (transport-cc is negotiated),
// decodes them, its frame count grows, and the SFU's send-side estimate of its bandwidth moves it
// above the lowest layer, where it stays. It runs alone, before the parallel tests: Chromium adds its
// higher layers only while its CPU keeps up (its encoder's overuse detection), and beside four
// other end-to-end tests on two cores it sometimes did not within 90 s.
func TestBrowserSendsSimulcast(t *testing.T) {
	exe := chromium(t)
	b, id, _, _, _ := meetingWith(t, nil)
	alice, bob := browser(t, exe), browser(t, exe)
	aliceID := signInAndJoinPage(t, alice, b.url+"/client/v1/meet?simulcast=1", "alice@media.example", id)
	signInAndJoin(t, bob, b.url, "bob@media.example", id)
	until(t, "alice's camera to be sent in layers", func() bool {
		rids, err := chromedp.Run(alice, chromedp.Evaluate[[]string]("cameraLayers()"))
		return err == nil && strings.Join(rids, ",") == "q,h,f"
	})
	// At least one layer arrives as a simulcast layer (a RID stream): Chromium adds the higher ones as its
	// bandwidth estimate grows, which a loaded machine can delay past the wait.
	until(t, "the SFU to receive simulcast layers", func() bool { return metricValue(t, b.url, "belfry_sfu_simulcast_layers") >= 1 })
	until(t, "bob to decode alice's video", func() bool { return framesFrom(t, bob, aliceID) > 0 })
	n := framesFrom(t, bob, aliceID)
	until(t, "bob's frame count to grow", func() bool { return framesFrom(t, bob, aliceID) > n+10 })
	// Bob's browser sends no REMB (transport-cc is negotiated): the SFU's send-side estimate moves him
	// above the lowest layer (a quarter of the camera's width) once alice's higher layers arrive.
	var above time.Time // since when bob has decoded frames wider than the lowest layer's
	// Two estimates ramp before that (alice's Chromium adds its higher layers as its own grows, then
	// the SFU's of bob's link): on a loaded machine (the whole suite on 2 cores) that takes longer.
	untilWithin(t, 90*time.Second, "bob to decode a layer above the lowest for 2 s", func() bool {
		if frameWidth(t, bob) < 640 {
			above = time.Time{}
			return false
		}
		if above.IsZero() {
			above = time.Now()
		}
		return time.Since(above) >= 2*time.Second
	})
}

// frameWidth is the width of the video frames the page decodes (its inbound video's frameWidth).
func frameWidth(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	w, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`(async () => {
		let w = 0;
		if (pc) (await pc.getStats()).forEach(x => { if (x.type === "inbound-rtp" && x.kind === "video" && x.frameWidth) w = Math.max(w, x.frameWidth); });
		return w;
	})()`, chromedp.EvalAwaitPromise))
	return w
}

// pageState describes the page's connection for a failure message.
func pageState(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const st = [];
		if (pc) (await pc.getStats()).forEach(x => { if (x.type === "inbound-rtp" || x.type === "outbound-rtp" || x.type === "candidate-pair") st.push(x); });
		return JSON.stringify({status: document.getElementById("status").textContent, conn: pc && pc.connectionState,
			ice: pc && pc.iceConnectionState, signaling: pc && pc.signalingState, stats: st});
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		return err.Error()
	}
	return s
}
