package flightsvc

import (
	"bytes"
	"fmt"
	"math/big"
	"strings"
)

// sample describes generated CSV rows.
type sample struct {
	rows  int
	days  int    // rows are spread over this many days from 2024-09-01
	extra string // an extra column's name, "" for none
	pad   int    // length of a padding text column, for size
}

// csv returns the CSV text and the exact sum of BilledCost.
func (s sample) csv() ([]byte, *big.Rat) {
	var b bytes.Buffer
	b.WriteString("ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ResourceId,Tags,ServiceName")
	if s.extra != "" {
		b.WriteString("," + s.extra)
	}
	if s.pad > 0 {
		b.WriteString(",x_Pad")
	}
	b.WriteString("\n")
	sum := new(big.Rat)
	pad := strings.Repeat("p", s.pad)
	for i := 0; i < s.rows; i++ {
		day := 1 + i%max(s.days, 1)
		cost := fmt.Sprintf("%d.%020d", i%997, int64(i)*7919%100000000000)
		if i%5 == 0 {
			cost = "-" + cost
		}
		r, _ := new(big.Rat).SetString(cost)
		sum.Add(sum, r)
		env := []string{"prod", "dev"}[i%2]
		fmt.Fprintf(&b, "2024-09-%02dT%02d:00:00Z,2024-09-%02dT%02d:59:59Z,%s,0.5,res-%d,\"{\"\"env\"\": \"\"%s\"\", \"\"team\"\": \"\"t%d\"\"}\",Svc%d",
			day, i%24, day, i%24, cost, i%10, env, i%3, i%4)
		if s.extra != "" {
			fmt.Fprintf(&b, ",e%d", i)
		}
		if s.pad > 0 {
			b.WriteString("," + pad)
		}
		b.WriteString("\n")
	}
	return b.Bytes(), sum
}
