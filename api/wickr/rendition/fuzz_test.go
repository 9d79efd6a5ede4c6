package rendition_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"testing"

	"github.com/belfry/belfry/api/wickr/rendition"
)

// FuzzRender: whatever the bytes, Render does not panic; it answers a rendition that decodes as a
// JPEG fitting the preview box, or one of the package's errors. The committed corpus
// (testdata/fuzz/FuzzRender) holds a small image of each format, a truncated one and lying headers.
func FuzzRender(f *testing.F) {
	for _, format := range []string{"png", "jpeg", "gif"} {
		f.Add(encoded(f, format, pattern(40, 30)))
	}
	f.Add(HugePNG(60000, 60000))
	f.Add([]byte("plain text"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := rendition.Render(context.Background(), bytes.NewReader(in), rendition.Preview)
		if err != nil {
			if !errors.Is(err, rendition.ErrUnsupported) && !errors.Is(err, rendition.ErrTooManyPixels) && !errors.Is(err, rendition.ErrSourceTooLarge) {
				t.Fatalf("an error outside the package's set: %v", err)
			}
			return
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(got.JPEG))
		if err != nil || format != "jpeg" || cfg.Width != got.Width || cfg.Height != got.Height ||
			cfg.Width < 1 || cfg.Height < 1 || cfg.Width > rendition.Preview.Max || cfg.Height > rendition.Preview.Max {
			t.Fatalf("a rendition %s %dx%d (%v), said %dx%d", format, cfg.Width, cfg.Height, err, got.Width, got.Height)
		}
	})
}
