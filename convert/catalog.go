package convert

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind says how a FOCUS column is typed.
type Kind uint8

// The column kinds. Every column not named in the catalog is KindString.
const (
	KindString    Kind = iota // utf8, kept verbatim
	KindMoney                 // decimal128(38, money scale)
	KindQuantity              // decimal128(38, 18)
	KindTimestamp             // timestamp[us, UTC]
	KindTags                  // map<utf8, utf8> parsed from a JSON object
)

// Well-known column names the pipeline depends on.
const (
	ColChargePeriodStart = "ChargePeriodStart"
	ColResourceID        = "ResourceId"
	ColTags              = "Tags"
)

// Precision is the decimal precision of every decimal column.
const Precision = 38

// DefaultMoneyScale is the scale of money columns unless a dataset says otherwise.
const DefaultMoneyScale = 32

// QuantityScale is the scale of quantity columns.
const QuantityScale = 18

var catalog = map[string]Kind{
	"BilledCost":                         KindMoney,
	"EffectiveCost":                      KindMoney,
	"ListCost":                           KindMoney,
	"ContractedCost":                     KindMoney,
	"ListUnitPrice":                      KindMoney,
	"ContractedUnitPrice":                KindMoney,
	"PricingCurrencyEffectiveCost":       KindMoney,
	"PricingCurrencyListUnitPrice":       KindMoney,
	"PricingCurrencyContractedUnitPrice": KindMoney,
	"ContractCommitmentCost":             KindMoney,

	"PricingQuantity":            KindQuantity,
	"ConsumedQuantity":           KindQuantity,
	"CommitmentDiscountQuantity": KindQuantity,
	"ContractCommitmentQuantity": KindQuantity,

	"BillingPeriodStart":            KindTimestamp,
	"BillingPeriodEnd":              KindTimestamp,
	"ChargePeriodStart":             KindTimestamp,
	"ChargePeriodEnd":               KindTimestamp,
	"ContractPeriodStart":           KindTimestamp,
	"ContractPeriodEnd":             KindTimestamp,
	"ContractCommitmentPeriodStart": KindTimestamp,
	"ContractCommitmentPeriodEnd":   KindTimestamp,

	"Tags":          KindTags,
	"AllocatedTags": KindTags,
}

// canonical maps a lower-cased catalog name to its FOCUS spelling.
var canonical = func() map[string]string {
	m := make(map[string]string, len(catalog)+2)
	for name := range catalog {
		m[strings.ToLower(name)] = name
	}
	m[strings.ToLower(ColResourceID)] = ColResourceID
	return m
}()

// CanonicalName returns the FOCUS spelling of a header name: surrounding
// spaces are trimmed and a catalog column matched case-insensitively takes
// its canonical case. Unknown names (x_* included) are returned trimmed.
func CanonicalName(header string) string {
	name := strings.TrimSpace(header)
	if c, ok := canonical[strings.ToLower(name)]; ok {
		return c
	}
	return name
}

// KindOf returns the kind of the column with the given canonical name.
func KindOf(name string) Kind {
	return catalog[name]
}

// MoneyType returns the Arrow type of money columns at the given scale.
func MoneyType(scale int32) arrow.DataType {
	return &arrow.Decimal128Type{Precision: Precision, Scale: scale}
}

// QuantityType is the Arrow type of quantity columns.
var QuantityType arrow.DataType = &arrow.Decimal128Type{Precision: Precision, Scale: QuantityScale}

// TimestampType is the Arrow type of date/time columns.
var TimestampType arrow.DataType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// TagsType is the Arrow type of Tags and AllocatedTags.
var TagsType arrow.DataType = arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String)

// TypeOf returns the Arrow type of a column kind.
func TypeOf(k Kind, moneyScale int32) arrow.DataType {
	switch k {
	case KindMoney:
		return MoneyType(moneyScale)
	case KindQuantity:
		return QuantityType
	case KindTimestamp:
		return TimestampType
	case KindTags:
		return TagsType
	default:
		return arrow.BinaryTypes.String
	}
}

// ValidMoneyScale reports whether scale is usable for money columns.
func ValidMoneyScale(scale int32) error {
	if scale < 0 || scale > Precision {
		return fmt.Errorf("money scale %d out of range: it must be between 0 and %d", scale, Precision)
	}
	return nil
}
