package main

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

const (
	poolSize    = 3000    // distinct resources
	hours       = 31 * 24 // one row per resource and hour of May 2026
	commitments = 40      // shared commitment discounts
	priceDigits = 10      // fractional digits of unit prices
)

var (
	monthStart = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	monthEnd   = monthStart.AddDate(0, 1, 0)
)

// commitment is a shared commitment discount: its CommitmentDiscountId, Name,
// Category and Type rendered, each followed by a comma.
type commitment struct {
	fields []byte
	spend  bool // Spend (USD) rather than Usage (Hours)
}

// resource is one billed resource with its fields pre-rendered as CSV.
type resource struct {
	svc        *service
	head       []byte // ProviderName..BillingPeriodEnd, each followed by ','
	desc       []byte // ChargeDescription field of usage rows
	taxDesc    []byte
	creditDesc []byte
	unitPrice  float64
	price      []byte  // ListUnitPrice text
	cprice     []byte  // ContractedUnitPrice text
	discount   float64 // contracted / list
	product    []byte  // ServiceName..SkuPriceDetails, each followed by ','
	service    []byte  // ServiceName..ServiceSubcategory then four empty sku fields
	where      []byte  // ResourceId..AvailabilityZone, each followed by ','
	commit     *commitment
	capacity   []byte // CapacityReservationId,CapacityReservationStatus, each followed by ','
	tags       []byte // the Tags field without its closing `}"`; nil: no tags
	noTags     []byte // the Tags field when tags is nil: empty, NULL or "{}"
	versioned  bool   // carries a Version tag that changes weekly
	digits     int    // fractional digits of money values, 6..16
}

// generator renders rows. Row i belongs to resource (i/hours)%poolSize at
// hour i%hours, so rows come grouped by resource then hour, and every few
// thousand rows span the whole month, as in real exports.
type generator struct {
	rng     *rand.Rand
	scratch []byte
	res     []resource
	stamps  [hours][]byte // "start,end," per hour
}

func newGenerator(seed uint64) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for h := range g.stamps {
		t := monthStart.Add(time.Duration(h) * time.Hour)
		b := t.AppendFormat(nil, time.RFC3339)
		b = append(b, ',')
		b = t.Add(time.Hour).AppendFormat(b, time.RFC3339)
		g.stamps[h] = append(b, ',')
	}
	// Resources come from their own stream so that they do not depend on
	// the number of rows.
	rr := rand.New(rand.NewPCG(seed^0x5851f42d4c957f2d, seed))
	commits := make([]commitment, commitments)
	for i := range commits {
		commits[i] = newCommitment(rr, i)
	}
	g.res = make([]resource, poolSize)
	for i := range g.res {
		g.res[i] = newResource(rr, commits)
	}
	return g
}

func newCommitment(rr *rand.Rand, i int) commitment {
	payer := payers[i%len(payers)]
	if rr.IntN(2) == 0 {
		id := fmt.Sprintf("arn:aws:savingsplans::%s:savingsplan/%08x-%04x-%04x", payer.id,
			rr.Uint32(), rr.Uint32()&0xffff, rr.Uint32()&0xffff)
		f := appendFields(nil, id, "ComputeSavingsPlan-1yr-NoUpfront", "Spend", "Savings Plan")
		return commitment{fields: f, spend: true}
	}
	reg := regions[rr.IntN(len(regions))]
	id := fmt.Sprintf("arn:aws:ec2:%s::reservation/%016x", reg.id, rr.Uint64())
	return commitment{fields: appendFields(nil, id, "EC2ReservedInstance-1yr-NoUpfront", "Usage", "Reserved Instance")}
}

func pickService(rr *rand.Rand) *service {
	total := 0
	for i := range services {
		total += services[i].weight
	}
	n := rr.IntN(total)
	for i := range services {
		if n < services[i].weight {
			return &services[i]
		}
		n -= services[i].weight
	}
	return &services[0]
}

func newResource(rr *rand.Rand, commits []commitment) resource {
	s := pickService(rr)
	reg := regions[rr.IntN(len(regions))]
	if rr.IntN(3) == 0 { // us-east-1 carries more than its share
		reg = regions[0]
	}
	sub := rr.IntN(24)
	payer := payers[sub%len(payers)]
	team, env := teams[sub%len(teams)], envs[sub/len(teams)%len(envs)]
	subID := fmt.Sprintf("2000000000%02d", sub+10)
	name := fmt.Sprintf("%s%012x", s.idPrefix, rr.Uint64()>>16)
	id := fmt.Sprintf(s.arn, reg.id, subID, name)
	detail := rr.IntN(len(s.details))
	r := resource{svc: s, digits: 6 + rr.IntN(11)}

	issuer := "AWS"
	if strings.Contains(payer.name, "EMEA") {
		issuer = "Amazon Web Services EMEA SARL"
	}
	r.head = appendFields(nil, "AWS", "AWS", issuer,
		"INV-2026-05-000"+payer.id[len(payer.id)-1:], payer.id, payer.name, "Payer Account",
		subID, team+"-"+env, "Linked Account",
		monthStart.Format(time.RFC3339), monthEnd.Format(time.RFC3339))

	r.unitPrice = s.priceLo + (s.priceHi-s.priceLo)*rr.Float64()
	r.price = appendDecimal(nil, r.unitPrice, priceDigits)
	r.discount = []float64{1, 1, 1, 0.95, 0.9, 0.85}[rr.IntN(6)]
	r.cprice = appendDecimal(nil, r.unitPrice*r.discount, priceDigits)
	what := strings.Trim(strings.SplitN(s.details[detail], ":", 3)[1], `"{}`)
	what = strings.SplitN(what, `",`, 2)[0]
	r.desc = appendField(nil, fmt.Sprintf(s.desc, r.price, what))
	r.taxDesc = appendField(nil, "Tax for product code "+s.name+", VAT")
	r.creditDesc = appendField(nil, "AWS Promotional Credit applied to "+s.name)

	sku := skuCode(s.name, s.details[detail], reg.id)
	r.product = appendFields(nil, s.name, s.category, s.subcategory,
		"SKU-"+sku[:8], s.meter, sku[:8]+"."+sku[8:], s.details[detail])
	r.service = appendFields(nil, s.name, s.category, s.subcategory, "", "", "", "")
	az := ""
	if s.zonal {
		az = reg.id + string(rune('a'+rr.IntN(3)))
	}
	r.where = appendFields(nil, id, name, s.resourceType, reg.id, reg.name, az)
	if s.committable && rr.IntN(100) < 35 {
		r.commit = &commits[rr.IntN(len(commits))]
	}
	r.capacity = []byte(",,")
	if s.resourceType == "EC2 Instance" && rr.IntN(20) == 0 {
		r.capacity = appendFields(nil, fmt.Sprintf("cr-%017x", rr.Uint64()>>8), "Used")
	}
	r.tags, r.noTags = newTags(rr, name, team, env)
	r.versioned = r.tags != nil && rr.IntN(100) < 15
	return r
}

// skuCode derives a stable 16-character SKU code from what is priced.
func skuCode(parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	v := h.Sum64()
	var b [16]byte
	for i := range b {
		b[i] = alphabet[v%32]
		v = v/32 ^ v<<7
	}
	return string(b[:])
}

// newTags renders a Tags JSON object of 0-8 keys as an open CSV field (no
// closing `}"`), or, with no keys, the field to use instead.
func newTags(rr *rand.Rand, name, team, env string) (open, none []byte) {
	n := 0
	if rr.IntN(4) != 0 {
		n = 1 + rr.IntN(4)
		if rr.IntN(4) == 0 {
			n += rr.IntN(5)
		}
	}
	if n == 0 {
		switch rr.IntN(20) {
		case 0, 1, 2:
			return nil, []byte("NULL")
		case 3, 4, 5, 6, 7:
			return nil, []byte(`"{}"`)
		default:
			return nil, nil
		}
	}
	var js []byte
	for i, k := range rr.Perm(len(tagKeys))[:n] {
		if i > 0 {
			js = append(js, ',')
		}
		key := tagKeys[k]
		js = strconv.AppendQuote(js, key)
		js = append(js, ':')
		js = append(js, tagValue(rr, key, name, team, env)...)
	}
	open = append([]byte(`"{`), strings.ReplaceAll(string(js), `"`, `""`)...)
	return open, nil
}

func tagValue(rr *rand.Rand, key, name, team, env string) string {
	pick := func(vs ...string) string { return vs[rr.IntN(len(vs))] }
	q := strconv.Quote
	switch key {
	case "Environment":
		return q(env)
	case "CostCenter":
		return q(fmt.Sprintf("cc-%04d", 1000+rr.IntN(40)*97))
	case "Owner":
		return q("team-" + team)
	case "Application":
		return q("app-" + pick("checkout", "ledger", "search", "recommender", "ingest", "portal"))
	case "Project":
		return q(fmt.Sprintf("proj-%03d", rr.IntN(60)))
	case "Name":
		return q(name)
	case "aws:createdBy":
		return q("IAMUser:ci-" + team)
	case "kubernetes.io/cluster/eks-prod":
		return q(pick("owned", "shared"))
	case "Replicas":
		return strconv.Itoa(1 + rr.IntN(12))
	case "Backup":
		return pick("true", "false")
	case "Tier":
		return q(pick("web, frontend", "backend", "batch, nightly"))
	case "Ratio":
		return pick("0.25", "0.5", "1.5")
	case "Team Name":
		return q(pick("Data & Analytics", "Platform Engineering", "Payments \"Core\""))
	default: // Department
		return q(pick("Zürich R&D", "Finance", "São Paulo Ops"))
	}
}

// appendField appends s as one CSV field followed by a comma, quoted when needed.
func appendField(dst []byte, s string) []byte {
	if strings.ContainsAny(s, ",\"\r\n") {
		dst = append(dst, '"')
		dst = append(dst, strings.ReplaceAll(s, `"`, `""`)...)
		dst = append(dst, '"')
	} else {
		dst = append(dst, s...)
	}
	return append(dst, ',')
}

func appendFields(dst []byte, fields ...string) []byte {
	for _, f := range fields {
		dst = appendField(dst, f)
	}
	return dst
}

var pow10 = func() (p [19]float64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// appendDecimal appends v with exactly digits fractional digits (0 to 16),
// computed with integers so that it stays fast at any number of digits.
func appendDecimal(dst []byte, v float64, digits int) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	ip := math.Floor(v)
	frac := uint64(math.Round((v - ip) * pow10[digits]))
	if frac >= uint64(pow10[digits]) {
		ip, frac = ip+1, frac-uint64(pow10[digits])
	}
	dst = strconv.AppendUint(dst, uint64(ip), 10)
	if digits == 0 {
		return dst
	}
	var b [20]byte
	i := len(b)
	for range digits {
		i--
		b[i] = byte('0' + frac%10)
		frac /= 10
	}
	dst = append(dst, '.')
	return append(dst, b[i:]...)
}

// row appends row i (no header) with its line end.
func (g *generator) row(dst []byte, i int64) []byte {
	r := &g.res[(i/hours)%poolSize]
	h := int(i % hours)
	dst = append(dst, r.head...)
	dst = append(dst, g.stamps[h]...)
	switch u := g.rng.IntN(1000); {
	case u < 15: // no resource, no tags
		return append(g.tax(dst, r), '\n')
	case u < 25 && r.commit != nil:
		return append(g.purchase(dst, r), '\n')
	case u < 50:
		dst = g.credit(dst, r)
	default:
		dst = g.usage(dst, r, u)
	}
	return g.tagsField(dst, r, h)
}

// quantity draws an hourly quantity, small values more likely.
func (g *generator) quantity(s *service) float64 {
	f := g.rng.Float64()
	return s.qtyLo + (s.qtyHi-s.qtyLo)*f*f*f
}

func (g *generator) usage(dst []byte, r *resource, u int) []byte {
	s := r.svc
	qty := g.quantity(s)
	list := qty * r.unitPrice
	contracted := list * r.discount
	billed, effective := contracted, contracted
	committed := r.commit != nil && g.rng.IntN(10) < 8
	if committed {
		billed, effective = 0, list*0.62
	}
	class := ","
	switch {
	case u >= 997: // a correction of an earlier charge
		class = "Correction,"
		list, contracted, billed, effective = -list, -contracted, -billed, -effective
	case u >= 970: // free tier
		billed, effective, contracted = 0, 0, 0
	}
	dst = append(dst, "Usage,"...)
	dst = append(dst, class...)
	dst = append(dst, r.desc...)
	dst = append(dst, "Usage-Based,"...)
	dst = g.money(dst, r, billed)
	dst = g.money(dst, r, effective)
	dst = g.money(dst, r, list)
	dst = g.money(dst, r, contracted)
	dst = append(append(dst, r.price...), ',')
	dst = append(append(dst, r.cprice...), ',')
	if committed {
		dst = append(dst, "Committed,"...)
	} else {
		dst = append(dst, "Standard,"...)
	}
	g.scratch = appendDecimal(g.scratch[:0], qty, s.qtyDigits)
	q := g.scratch
	dst = append(append(dst, q...), ',')
	dst = append(append(dst, s.unit...), ",USD,"...)
	dst = append(append(dst, r.cprice...), ',')
	dst = g.money(dst, r, effective)
	dst = append(append(dst, r.price...), ",USD,"...)
	dst = append(append(dst, q...), ',')
	dst = append(append(dst, s.unit...), ',')
	dst = append(dst, r.product...)
	dst = append(dst, r.where...)
	if committed {
		dst = append(dst, r.commit.fields...)
		if r.commit.spend {
			dst = g.money(append(dst, "Used,"...), r, effective)
			dst = append(dst, "USD,"...)
		} else {
			dst = append(append(append(dst, "Used,"...), q...), ",Hours,"...)
		}
	} else {
		dst = append(dst, ",,,,,,,"...)
	}
	return append(dst, r.capacity...)
}

func (g *generator) credit(dst []byte, r *resource) []byte {
	v := -g.rng.Float64() * 3 * r.unitPrice * max(1, r.svc.qtyHi/20)
	dst = append(dst, "Credit,,"...)
	dst = append(dst, r.creditDesc...)
	dst = append(dst, "One-Time,"...)
	dst = g.money(dst, r, v)
	dst = g.money(dst, r, v)
	dst = append(dst, "0,0,,,,,,USD,,"...)
	dst = g.money(dst, r, v)
	dst = append(dst, ",USD,,,"...)
	dst = append(dst, r.service...)
	dst = append(dst, r.where...)
	return append(dst, ",,,,,,,,,"...)
}

func (g *generator) tax(dst []byte, r *resource) []byte {
	v := g.rng.Float64() * 40 * r.unitPrice
	dst = append(dst, "Tax,,"...)
	dst = append(dst, r.taxDesc...)
	dst = append(dst, "One-Time,"...)
	for range 4 {
		dst = g.money(dst, r, v)
	}
	dst = append(dst, ",,,,,USD,,"...)
	dst = g.money(dst, r, v)
	dst = append(dst, ",USD,,,"...)
	dst = append(dst, r.service...)
	return append(dst, ",,,,,,,,,,,,,,,"...) // no resource, no commitment
}

func (g *generator) purchase(dst []byte, r *resource) []byte {
	g.scratch = appendDecimal(g.scratch[:0], 0.05+g.rng.Float64()*4, 6)
	fee := g.scratch
	dst = append(dst, "Purchase,,Savings Plan commitment purchase (no upfront),Recurring,"...)
	dst = append(append(dst, fee...), ",0,"...)
	dst = append(append(dst, fee...), ',')
	dst = append(append(dst, fee...), ",1,1,Standard,"...)
	dst = append(append(dst, fee...), ",USD,USD,1,0,1,USD,,,"...)
	dst = append(dst, r.service...)
	dst = append(dst, ",,,,,,"...)
	dst = append(dst, r.commit.fields...)
	return append(dst, ",,USD,,,"...) // no resource, no tags
}

// money appends a money value and a comma: exactly 0 as "0", otherwise
// with the resource's number of fractional digits.
func (g *generator) money(dst []byte, r *resource, v float64) []byte {
	if v == 0 {
		return append(dst, '0', ',')
	}
	return append(appendDecimal(dst, v, r.digits), ',')
}

func (g *generator) tagsField(dst []byte, r *resource, h int) []byte {
	if r.tags == nil {
		dst = append(dst, r.noTags...)
		return append(dst, '\n')
	}
	dst = append(dst, r.tags...)
	if r.versioned {
		dst = append(dst, `,""Version"":""v1.`...)
		dst = strconv.AppendInt(dst, int64(h/24/7), 10)
		dst = append(dst, `""`...)
	}
	return append(dst, "}\"\n"...)
}
