package messaging

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path"
	"strings"

	"github.com/belfry/belfry/api/wickr/rendition"
	"github.com/belfry/belfry/domain"
	"github.com/belfry/belfry/domain/chime/attachment"
)

// The transfers of a file (guide §3.3 Media and links, the reader's group's maxAutoDownloadSize):
// best quality sends a file's original bytes; low bandwidth sends an image compressed by the server
// (rendition.LowBandwidth: a JPEG fitting 1600×1600 at quality 60), and every other file as it is.
const (
	TransferBest = "BestQuality"
	TransferLow  = "LowBandwidth"
)

// Preview is the preview rendition of a live message's file (§12: what a member whose group
// disables file download still sees, and any member may ask for): a JPEG fitting 512×512 made from
// the decrypted file, whatever the reader's group's download setting. Not a member, an unknown,
// expired or burnt message: NotFound; a file that is not a png, jpeg or gif image:
// rendition.ErrUnsupported; over rendition.MaxSourceBytes or MaxPixels: their errors (nothing
// decoded). The answer's Sha256 is the rendition's.
func (x Files) Preview(ctx context.Context, me Caller, id, messageID string) (File, []byte, error) {
	a, g, err := x.attachmentOf(ctx, me, id, messageID)
	if err != nil {
		return File{}, nil, err
	}
	if a.Size > rendition.MaxSourceBytes {
		return File{}, nil, domain.Wrapf(rendition.ErrSourceTooLarge, "the file is %d bytes, over the preview bound of %d bytes", a.Size, rendition.MaxSourceBytes)
	}
	meta, err := x.s.d.Blobs.Meta(ctx, a)
	if err != nil {
		return File{}, nil, err
	}
	img, err := x.render(ctx, a, rendition.Preview)
	if err != nil {
		return File{}, nil, err
	}
	f := rendered(fileFor(meta.Name, a.ContentType, a.Size, g), img)
	return f, img.JPEG, nil
}

// lowBandwidth is the compressed rendition of an image file for a low-quality reader, when one is
// made and smaller than the original; ok false: send the original (not an image, over the bounds,
// or no smaller).
func (x Files) lowBandwidth(ctx context.Context, a attachment.Stored, f File) (File, io.ReadCloser, bool) {
	if a.Size > rendition.MaxSourceBytes {
		return File{}, nil, false
	}
	img, err := x.render(ctx, a, rendition.LowBandwidth)
	if err != nil || int64(len(img.JPEG)) >= a.Size {
		return File{}, nil, false
	}
	f = rendered(&f, img)
	f.Transfer = TransferLow
	return f, io.NopCloser(bytes.NewReader(img.JPEG)), true
}

// render opens the decrypted file and makes its rendition per spec.
func (x Files) render(ctx context.Context, a attachment.Stored, spec rendition.Spec) (rendition.Image, error) {
	r, err := x.s.d.Blobs.Open(ctx, a)
	if err != nil {
		return rendition.Image{}, err
	}
	defer r.Close()
	return rendition.Render(ctx, r, spec)
}

// rendered is f as its rendition img: a JPEG named after it, its size and SHA-256.
func rendered(f *File, img rendition.Image) File {
	out := *f
	sum := sha256.Sum256(img.JPEG)
	out.Name = strings.TrimSuffix(f.Name, path.Ext(f.Name)) + ".jpg"
	out.ContentType, out.Size, out.Sha256 = "image/jpeg", int64(len(img.JPEG)), hex.EncodeToString(sum[:])
	return out
}
