package rendition_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/belfry/belfry/api/wickr/rendition"
)

// pattern is a w×h image with detail (so that its JPEG is not trivially small).
func pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 13), uint8((x ^ y) * 3), 255})
		}
	}
	return img
}

func encoded(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// HugePNG is a PNG whose header claims w×h 8-bit RGBA pixels, with no pixel data after it.
func HugePNG(w, h uint32) []byte { return pngHeader(w, h, 8) }

// HugePNG16 is HugePNG with 16-bit RGBA pixels.
func HugePNG16(w, h uint32) []byte { return pngHeader(w, h, 16) }

func pngHeader(w, h uint32, depth byte) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, 6 // RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	out := append([]byte("\x89PNG\r\n\x1a\n"), 0, 0, 0, 13)
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}

// TestRenderFitsAndKeepsAspect: each format comes out a JPEG fitting the box, aspect kept, and a
// small image is not upscaled.
func TestRenderFitsAndKeepsAspect(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		format     string
		w, h       int
		wantW, wan int
	}{
		{"png", 240, 120, 64, 32},
		{"jpeg", 60, 180, 21, 64},
		{"gif", 50, 40, 50, 40},
		{"png", 2000, 1, 64, 1},
	} {
		box := rendition.Spec{Max: 64, Quality: 80} // small images: the same arithmetic as Preview's 512
		got, err := rendition.Render(context.Background(), bytes.NewReader(encoded(t, c.format, pattern(c.w, c.h))), box)
		if err != nil {
			t.Fatalf("%s %dx%d: %v", c.format, c.w, c.h, err)
		}
		img, format, err := image.Decode(bytes.NewReader(got.JPEG))
		if err != nil || format != "jpeg" || img.Bounds().Dx() != c.wantW || img.Bounds().Dy() != c.wan || got.Format != c.format {
			t.Fatalf("%s %dx%d: a %s %v (%v), want a %dx%d jpeg", c.format, c.w, c.h, format, img.Bounds(), err, c.wantW, c.wan)
		}
	}
}

// TestRenderRefusesHostileInput: not an image, a lying header, a truncated image, a declared
// 60000×60000 image are refused with the error naming what is wrong, without decoding pixels.
func TestRenderRefusesHostileInput(t *testing.T) {
	t.Parallel()
	good := encoded(t, "png", pattern(64, 64))
	for _, c := range []struct {
		name string
		in   []byte
		want error
		says string
	}{
		{"text", []byte("hello, this is not an image"), rendition.ErrUnsupported, "no preview rendition"},
		{"empty", nil, rendition.ErrUnsupported, "no preview rendition"},
		{"truncated", good[:len(good)/2], rendition.ErrUnsupported, "png data does not decode"},
		{"huge", HugePNG(60000, 60000), rendition.ErrTooManyPixels, "60000×60000"},
		{"16-bit", HugePNG16(6000, 6000), rendition.ErrTooManyPixels, "of 8 bytes"}, // 36 MP, 288 MB
	} {
		_, err := rendition.Render(context.Background(), bytes.NewReader(c.in), rendition.Preview)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %v saying %q", c.name, err, c.want, c.says)
		}
	}
}

// TestRenderBoundsTheSource: a JPEG whose header never ends (endless APP1 segments) is refused as
// over MaxSourceBytes, having read at most one byte more.
func TestRenderBoundsTheSource(t *testing.T) {
	t.Parallel()
	r := &endlessJPEG{}
	_, err := rendition.Render(context.Background(), r, rendition.Preview)
	if !errors.Is(err, rendition.ErrSourceTooLarge) || r.n > rendition.MaxSourceBytes+1 {
		t.Fatalf("%v after %d bytes", err, r.n)
	}
}

// endlessJPEG is a JPEG start then APP1 segments of 65535 bytes without end; n counts what was read.
type endlessJPEG struct{ n int64 }

// app1 is one segment: FF E1, its length (65535, counting itself), 65533 bytes.
var app1 = append([]byte{0xFF, 0xE1, 0xFF, 0xFF}, bytes.Repeat([]byte("x"), 65533)...)

func (e *endlessJPEG) Read(p []byte) (int, error) {
	var n int
	if e.n == 0 {
		n = copy(p, []byte{0xFF, 0xD8}[:min(2, len(p))])
	} else {
		n = copy(p, app1[(e.n-2)%int64(len(app1)):])
	}
	e.n += int64(n)
	return n, nil
}

// TestFit: the box, aspect kept, never upscaled, never zero.
func TestFit(t *testing.T) {
	t.Parallel()
	for _, c := range [][5]int{{100, 50, 512, 100, 50}, {1024, 512, 512, 512, 256}, {512, 1024, 512, 256, 512}, {10000, 1, 512, 512, 1}, {3, 3, 1, 1, 1}} {
		if w, h := rendition.Fit(c[0], c[1], c[2]); w != c[3] || h != c[4] {
			t.Errorf("Fit%v = %d,%d", c[:3], w, h)
		}
	}
}

// TestPreviewable: the judgement made at upload from a file's first bytes agrees with Render on
// what it can tell from a header: images of the three formats yes, other bytes, an image over the
// pixel or decoded-size bound, or a file over the source bound no.
func TestPreviewable(t *testing.T) {
	for _, format := range []string{"png", "jpeg", "gif"} {
		b := encoded(t, format, pattern(64, 48))
		if !rendition.Previewable(b[:min(len(b), rendition.HeadBytes)], int64(len(b))) {
			t.Errorf("a %s image is not previewable", format)
		}
		if rendition.Previewable(b, rendition.MaxSourceBytes+1) {
			t.Errorf("a %s file over the source bound is previewable", format)
		}
	}
	for name, head := range map[string][]byte{
		"text":               []byte("just text"),
		"empty":              nil,
		"60000×60000 pixels": pngHeader(60000, 60000, 8),
		"16-bit 6000×6000":   pngHeader(6000, 6000, 16),
		"a truncated header": pngHeader(64, 64, 8)[:12],
	} {
		if rendition.Previewable(head, int64(len(head))) {
			t.Errorf("%s is previewable", name)
		}
	}
}
