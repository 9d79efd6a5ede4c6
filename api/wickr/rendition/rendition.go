// Package rendition makes the server's renditions of an image file (guide §12 "preview", §3.3
// "Low bandwidth transfer: attachments are compressed by the Wickr file transfer service"): a JPEG
// scaled to fit a box, aspect kept, never upscaled.
//
// The type is detected from the bytes by the standard library's decoders of the formats listed in
// Formats (png, jpeg, gif), never from a declared media type. Hostile input is bounded before it
// costs anything: at most MaxSourceBytes are read, the dimensions are read from the header
// (image.DecodeConfig) and an image over MaxPixels or MaxDecodedBytes is refused before any pixel
// is decoded, and at most Concurrency images are decoded at once (the decoded pixels are the memory
// that counts).
package rendition

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"

	"github.com/belfry/belfry/domain"
)

// MaxPixels bounds the images this package decodes: 50 megapixels. A larger image is refused
// (ErrTooManyPixels) from its header alone, before a pixel is decoded.
const MaxPixels = 50_000_000

// MaxDecodedBytes bounds the decoded pixels of one image: 256 MiB (a 16-bit RGBA PNG of 50
// megapixels would take 400 MB). An image whose pixels, at the bytes a pixel of its color model
// takes (bytesPerPixel), would exceed it is refused (ErrTooManyPixels) from its header alone. A
// progressive JPEG's coefficients (4 bytes a pixel per component) are held while it decodes, on top.
const MaxDecodedBytes = 256 << 20

// MaxSourceBytes bounds the file a rendition is made from: 32 MiB. Larger files are refused
// (ErrSourceTooLarge) and at most this many bytes (plus one) are ever read.
const MaxSourceBytes = 32 << 20

// Concurrency is how many images are decoded at once, server-wide; others wait their turn (or
// their context).
const Concurrency = 2

// Formats are the image formats a rendition is made of (the names image.DecodeConfig answers).
var Formats = map[string]bool{"png": true, "jpeg": true, "gif": true}

// The errors of this package (Unprocessable: the file is well-formed as a file, but no rendition is
// made of it). The API answers ErrUnsupported with 415.
var (
	ErrUnsupported    = &domain.Error{Kind: domain.KindUnprocessable, Msg: "no preview rendition exists for this file type"}
	ErrTooManyPixels  = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the image is over the bound of pixels for a rendition"}
	ErrSourceTooLarge = &domain.Error{Kind: domain.KindUnprocessable, Msg: "the file is over the bound of bytes for a rendition"}
)

// Spec is what a rendition is: a JPEG fitting within Max×Max pixels at Quality (1..100).
type Spec struct{ Max, Quality int }

// Preview is the rendition any member may see (§12): fits 512×512.
var Preview = Spec{Max: 512, Quality: 80}

// LowBandwidth is the compressed rendition a low-quality reader downloads instead of an image (§3.3).
var LowBandwidth = Spec{Max: 1600, Quality: 60}

// Image is a rendition: its JPEG bytes, its size in pixels, and the source's format.
type Image struct {
	JPEG          []byte
	Width, Height int
	Format        string
}

var slots = make(chan struct{}, Concurrency)

// Render reads an image from r and answers its rendition per s. Not an image of Formats, or one
// that does not decode: ErrUnsupported; over MaxPixels: ErrTooManyPixels (nothing decoded); over
// MaxSourceBytes: ErrSourceTooLarge. All are wrapped with a message naming what is wrong. The
// answer always fits s.Max×s.Max and is at most the source's size in each dimension.
func Render(ctx context.Context, r io.Reader, s Spec) (Image, error) {
	lr := &io.LimitedReader{R: r, N: MaxSourceBytes + 1}
	var head bytes.Buffer // what DecodeConfig read, given again to the decoder
	cfg, format, err := image.DecodeConfig(io.TeeReader(lr, &head))
	switch {
	case lr.N == 0:
		return Image{}, domain.Wrapf(ErrSourceTooLarge, "the file is over the rendition bound of %d bytes", MaxSourceBytes)
	case err != nil || !Formats[format] || cfg.Width <= 0 || cfg.Height <= 0:
		return Image{}, domain.Wrapf(ErrUnsupported, "no preview rendition exists for this file's type (not a png, jpeg or gif image)")
	case int64(cfg.Width)*int64(cfg.Height) > MaxPixels:
		return Image{}, domain.Wrapf(ErrTooManyPixels, "the image is %d×%d pixels, over the rendition bound of %d pixels", cfg.Width, cfg.Height, MaxPixels)
	case int64(cfg.Width)*int64(cfg.Height)*bytesPerPixel(cfg.ColorModel) > MaxDecodedBytes:
		return Image{}, domain.Wrapf(ErrTooManyPixels, "the image is %d×%d pixels of %d bytes, over the rendition bound of %d decoded bytes",
			cfg.Width, cfg.Height, bytesPerPixel(cfg.ColorModel), MaxDecodedBytes)
	}
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	case <-ctx.Done():
		return Image{}, ctx.Err()
	}
	src, err := decode(format, io.MultiReader(&head, lr))
	if lr.N == 0 {
		return Image{}, domain.Wrapf(ErrSourceTooLarge, "the file is over the rendition bound of %d bytes", MaxSourceBytes)
	}
	if err != nil {
		return Image{}, domain.Wrapf(ErrUnsupported, "no preview rendition exists for this file: its %s data does not decode", format)
	}
	return encode(src, format, s)
}

// HeadBytes is how much of a file's start Previewable reads.
const HeadBytes = 64 << 10

// Previewable reports whether Render can make a rendition of a file of size bytes that starts with
// head (its first HeadBytes or fewer): an image of Formats within MaxSourceBytes, MaxPixels and
// MaxDecodedBytes by its header. A header past head (a JPEG whose metadata comes first) reads false;
// image data that turns out not to decode is only found by Render.
func Previewable(head []byte, size int64) bool {
	if size > MaxSourceBytes {
		return false
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(head))
	if err != nil || !Formats[format] || cfg.Width <= 0 || cfg.Height <= 0 {
		return false
	}
	px := int64(cfg.Width) * int64(cfg.Height)
	return px <= MaxPixels && px*bytesPerPixel(cfg.ColorModel) <= MaxDecodedBytes
}

// bytesPerPixel is what a decoded pixel of model m takes (4 when unknown; YCbCr counted as 4:4:4).
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.Gray16Model:
		return 2
	case color.GrayModel:
		return 1
	case color.YCbCrModel:
		return 3
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// decode decodes one image of format (the one DecodeConfig named: no other decoder is tried).
func decode(format string, r io.Reader) (image.Image, error) {
	switch format {
	case "png":
		return png.Decode(r)
	case "jpeg":
		return jpeg.Decode(r)
	case "gif":
		return gif.Decode(r) // the first frame only
	}
	return nil, errors.New("rendition: unsupported format " + format)
}

// encode scales src onto white (a JPEG has no transparency) to fit s and encodes it.
func encode(src image.Image, format string, s Spec) (Image, error) {
	b := src.Bounds()
	w, h := Fit(b.Dx(), b.Dy(), s.Max)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	if w == b.Dx() && h == b.Dy() {
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Over)
	} else {
		draw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Over, nil)
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: s.Quality}); err != nil {
		return Image{}, err
	}
	return Image{JPEG: out.Bytes(), Width: w, Height: h, Format: format}, nil
}

// Fit is the size of a w×h image scaled to fit max×max, aspect kept (each side at least 1), never
// upscaled.
func Fit(w, h, max int) (int, int) {
	if w <= max && h <= max {
		return w, h
	}
	if w >= h {
		return max, max1(int(int64(h) * int64(max) / int64(w)))
	}
	return max1(int(int64(w) * int64(max) / int64(h))), max
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}
