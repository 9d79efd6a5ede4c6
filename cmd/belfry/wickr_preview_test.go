package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	_ "image/jpeg" // decodes the renditions
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

// wickrGet gets a message's attachment or preview (what: "attachment" or "preview").
func (r *running) wickrGet(t *testing.T, session, conv, messageID, what string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", r.url+"/client/v1/wickr/conversations/"+conv+"/messages/"+messageID+"/"+what, nil)
	req.Header.Set("Authorization", "Bearer "+session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// noisePNG is a w×h PNG of pseudo-random pixels (it does not compress: ~4 bytes a pixel).
func noisePNG(t *testing.T, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Uint32())
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	img.Set(0, 0, color.NRGBA{A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNGHeader is a PNG whose header claims w×h pixels, with nothing after it.
func hugePNGHeader(w, h uint32) []byte {
	chunk := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32([]byte("IHDR"), w), h)
	chunk = append(chunk, 8, 6, 0, 0, 0)
	out := append([]byte("\x89PNG\r\n\x1a\n"), 0, 0, 0, 13)
	return binary.BigEndian.AppendUint32(append(out, chunk...), crc32.ChecksumIEEE(chunk))
}

// testWickrPreview (a subtest of TestWickrMessaging, files bounded at 1 MiB): the listing's File says
// Preview for the PNG only (not the text file, nor the image over the pixel bound); carol, whose group
// disables file download, is refused alice's PNG (403) but gets its preview, a JPEG within 512×512;
// a non-member's preview is 404, a text file's 415, an image whose header claims 60000×60000 pixels
// 422 naming its size; with download enabled at low quality carol's download of the PNG is a smaller
// JPEG (X-Belfry-Transfer: LowBandwidth), at high quality the original bytes (same SHA-256).
func testWickrPreview(t *testing.T, b *running, nid, gid, dm, alice, carol, outsider string) {
	upload := func(name, ctype string, body []byte) string {
		t.Helper()
		st, out := b.wickrUpload(t, alice, dm, "Name="+name, ctype, body)
		if st != 201 {
			t.Fatalf("upload %s: %d %v", name, st, out)
		}
		return str(out["Message"].(map[string]any)["MessageId"])
	}
	photo := noisePNG(t, 700, 330)
	pic, txt, huge := upload("photo.png", "application/octet-stream", photo), upload("notes.txt", "text/plain", []byte("just text")),
		upload("huge.png", "image/png", hugePNGHeader(60000, 60000))

	st, out := b.wickrClient(t, "GET", "/client/v1/wickr/conversations/"+dm+"/messages", carol, "")
	preview := map[string]any{}
	for _, m := range out["Messages"].([]any) {
		mm := m.(map[string]any)
		if f, ok := mm["Attachment"].(map[string]any); ok {
			preview[str(mm["MessageId"])] = f["Preview"]
		}
	}
	if st != 200 || preview[pic] != true || preview[txt] != false || preview[huge] != false {
		t.Fatalf("the files' Preview flags (want the PNG's only): %d %v", st, preview)
	}

	b.wickrGroup(t, nid, gid, `{"enableFileDownload":false}`)
	if resp, body := b.wickrGet(t, carol, dm, pic, "attachment"); resp.StatusCode != 403 {
		t.Fatalf("download disabled: %d %s", resp.StatusCode, body)
	}
	resp, body := b.wickrGet(t, carol, dm, pic, "preview")
	img, format, err := image.Decode(bytes.NewReader(body))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		err != nil || format != "jpeg" || img.Bounds().Dx() != 512 || img.Bounds().Dy() != 241 {
		t.Fatalf("the preview: %d %v, a %s %v (%v)", resp.StatusCode, resp.Header, format, img, err)
	}
	for _, c := range []struct {
		who, mid string
		status   int
		says     string
	}{{outsider, pic, 404, ""}, {carol, txt, 415, "no preview rendition"}, {carol, huge, 422, "60000×60000"}} {
		resp, body := b.wickrGet(t, c.who, dm, c.mid, "preview")
		var out map[string]any
		_ = json.Unmarshal(body, &out)
		if resp.StatusCode != c.status || !strings.Contains(str(out["Message"]), c.says) {
			t.Fatalf("preview of %s: %d %s, want %d saying %q", c.mid, resp.StatusCode, body, c.status, c.says)
		}
	}

	b.wickrGroup(t, nid, gid, `{"enableFileDownload":true,"maxAutoDownloadSize":512000}`)
	resp, body = b.wickrGet(t, carol, dm, pic, "attachment")
	if _, format, err := image.DecodeConfig(bytes.NewReader(body)); resp.StatusCode != 200 || resp.Header.Get("X-Belfry-Transfer") != "LowBandwidth" ||
		format != "jpeg" || err != nil || len(body) >= len(photo) {
		t.Fatalf("low bandwidth: %d %v, a %s of %d bytes (the PNG: %d)", resp.StatusCode, resp.Header, format, len(body), len(photo))
	}
	if resp, body := b.wickrGet(t, carol, dm, txt, "attachment"); resp.Header.Get("X-Belfry-Transfer") != "BestQuality" || string(body) != "just text" {
		t.Fatalf("low bandwidth, a text file: %v %q", resp.Header, body)
	}
	b.wickrGroup(t, nid, gid, `{"maxAutoDownloadSize":7340032}`)
	resp, body = b.wickrGet(t, carol, dm, pic, "attachment")
	if got, want := sha256.Sum256(body), sha256.Sum256(photo); resp.StatusCode != 200 || got != want || resp.Header.Get("X-Belfry-Transfer") != "BestQuality" {
		t.Fatalf("best quality: %d %v, %d bytes", resp.StatusCode, resp.Header, len(body))
	}
}
