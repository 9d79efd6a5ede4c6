package call

import "strings"

// canadianAreaCodes are the NANP area codes of Canada (+1 numbers not listed are US numbers).
var canadianAreaCodes = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`204 226 236 249 250 257 263 273 289 306 343 354 365 367 368 382 387 403 416 418 428 431 437 438
		450 460 468 474 506 514 519 548 579 581 584 587 600 604 613 622 633 639 644 647 655 672 677 683 688 705 709 742 753 778 780
		782 807 819 825 851 867 873 879 902 905 942`) {
		canadianAreaCodes[c] = true
	}
}

// countryCodes map E.164 country calling codes to ISO 3166 alpha-2 codes, longest first where they
// share a prefix.
var countryCodes = []struct{ prefix, iso string }{
	{"+353", "IE"}, {"+358", "FI"}, {"+351", "PT"}, {"+852", "HK"}, {"+886", "TW"}, {"+971", "AE"}, {"+972", "IL"},
	{"+31", "NL"}, {"+32", "BE"}, {"+33", "FR"}, {"+34", "ES"}, {"+39", "IT"}, {"+41", "CH"}, {"+43", "AT"}, {"+44", "GB"},
	{"+45", "DK"}, {"+46", "SE"}, {"+47", "NO"}, {"+48", "PL"}, {"+49", "DE"}, {"+52", "MX"}, {"+55", "BR"}, {"+61", "AU"},
	{"+64", "NZ"}, {"+65", "SG"}, {"+81", "JP"}, {"+82", "KR"}, {"+86", "CN"}, {"+91", "IN"}, {"+7", "RU"},
}

// CountryOf is the ISO 3166 alpha-2 country of an E.164 number ("" when it is not known here): +1
// numbers are US or CA by area code.
func CountryOf(e164 string) string {
	if strings.HasPrefix(e164, "+1") {
		if len(e164) >= 5 && canadianAreaCodes[e164[2:5]] {
			return "CA"
		}
		return "US"
	}
	for _, c := range countryCodes {
		if strings.HasPrefix(e164, c.prefix) {
			return c.iso
		}
	}
	return ""
}
