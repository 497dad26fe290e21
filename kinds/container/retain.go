package container

import (
	"fmt"
	"time"

	"github.com/pkgvc/pkgvc/internal/lifetime"
	"github.com/pkgvc/pkgvc/options"
)

// Distribution settings of the kind (dist.OptionDeclarer).
const (
	// OptRetainUnpulled drops images not pulled for that long (a
	// lifetime: 30d, 12h) from the repository a distribution serves.
	OptRetainUnpulled = "retain_unpulled"
)

// DistSettings are a container distribution's own settings.
type DistSettings struct {
	RetainUnpulled string `json:"retain_unpulled,omitempty"`
}

// DistOptions declares the settings of container distributions.
func (Kind) DistOptions() []options.Spec {
	return []options.Spec{{
		Field: OptRetainUnpulled, Flag: "retain-unpulled", Type: options.String,
		Usage: "drop images (tags, digests) not pulled for this `long` (30d, 12h) from the repository, as a new version; gc then frees their bytes",
		Unset: "(forever)",
	}}
}

// CheckDistOptions checks the settings of a container distribution.
func (Kind) CheckDistOptions(o options.Values) error {
	_, err := decodeDistSettings(o)
	return err
}

// decodeDistSettings reads o; retain is zero when images are kept
// however long they go unpulled.
func decodeDistSettings(o options.Values) (retain time.Duration, err error) {
	var s DistSettings
	if err := o.Decode(&s); err != nil {
		return 0, err
	}
	if s.RetainUnpulled == "" {
		return 0, nil
	}
	d, err := lifetime.Parse(s.RetainUnpulled)
	if err != nil {
		return 0, fmt.Errorf("retain_unpulled %w", err)
	}
	return d, nil
}
