package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// tagsCases: want lists key=value pairs in order, "key" alone for null.
var tagsCases = []struct {
	in   string
	want []string
	bad  string // substring of the error; "" means success
}{
	{in: `{}`, want: []string{}},
	{in: " \t\r\n{ } \n", want: []string{}},
	{in: `{"env":"prod"}`, want: []string{"env=prod"}},
	{in: `{"env": "prod", "team" : "data"}`, want: []string{"env=prod", "team=data"}},
	{in: `{" padded key ":" padded value "}`, want: []string{" padded key = padded value "}},
	{in: `{"n":12,"f":-0.5e+10,"z":0,"t":true,"b":false}`,
		want: []string{"n=12", "f=-0.5e+10", "z=0", "t=true", "b=false"}},
	{in: `{"gone":null,"x":"y"}`, want: []string{"gone", "x=y"}},
	{in: `{"":""}`, want: []string{"="}},
	{in: `{"a":"1","b":"2","a":"3"}`, want: []string{"a=3", "b=2"}},
	{in: `{"a":"1","a":null}`, want: []string{"a"}},
	{in: `{"q":"say \"hi\"\\\/\b\f\n\r\t"}`, want: []string{"q=say \"hi\"\\/\b\f\n\r\t"}},
	{in: `{"\u0065nv":"caf\u00e9 \u20AC"}`, want: []string{"env=café €"}},
	{in: `{"emoji":"\ud83d\ude00"}`, want: []string{"emoji=😀"}},
	{in: `{"raw":"é😀"}`, want: []string{"raw=é😀"}},
	{in: `{"a\nb":"x","plain":"y"}`, want: []string{"a\nb=x", "plain=y"}},
	{in: ``, bad: "not a JSON object"},
	{in: `null`, bad: "not a JSON object"},
	{in: `[]`, bad: "not a JSON object"},
	{in: `"env=prod"`, bad: "not a JSON object"},
	{in: `env:prod`, bad: "not a JSON object"},
	{in: `{"a":{"b":"c"}}`, bad: "nested"},
	{in: `{"a":[1]}`, bad: "nested"},
	{in: `{"a":"b"} x`, bad: "trailing"},
	{in: `{"a":"b"}{}`, bad: "trailing"},
	{in: `{"a":"b",}`, bad: "string key"},
	{in: `{"a" "b"}`, bad: "':'"},
	{in: `{"a":"b" "c":"d"}`, bad: "','"},
	{in: `{'a':'b'}`, bad: "string key"},
	{in: `{a:"b"}`, bad: "string key"},
	{in: `{"a":"b"`, bad: "','"},
	{in: `{"a":"b`, bad: "unterminated"},
	{in: `{"a":"b\`, bad: "unterminated"},
	{in: `{"a":01}`, bad: "','"},
	{in: `{"a":1.}`, bad: "invalid number"},
	{in: `{"a":.5}`, bad: "invalid value"},
	{in: `{"a":+1}`, bad: "invalid value"},
	{in: `{"a":-}`, bad: "invalid number"},
	{in: `{"a":1e}`, bad: "invalid number"},
	{in: `{"a":NaN}`, bad: "invalid value"},
	{in: `{"a":tru}`, bad: "invalid value"},
	{in: `{"a":True}`, bad: "invalid value"},
	{in: `{"a":nullx}`, bad: "','"},
	{in: `{"a":"\x"}`, bad: "invalid escape"},
	{in: `{"a":"\u12"}`, bad: "\\u"},
	{in: `{"a":"\u12G4"}`, bad: "\\u"},
	{in: `{"a":"\ud83d"}`, bad: "surrogate"},
	{in: `{"a":"\ud83dx"}`, bad: "surrogate"},
	{in: `{"a":"\ude00"}`, bad: "surrogate"},
	{in: `{"a":"\ud83d\u0041"}`, bad: "surrogate"},
	{in: "{\"a\":\"tab\there\"}", bad: "control character"},
	{in: "{\"a\":\"\xff\"}", bad: "UTF-8"},
	{in: "{\"a\\n\xc3\":\"x\"}", bad: "UTF-8"},
	{in: "{\"a\":\"\xc3\\n\xa9\"}", bad: "UTF-8"},
}

// tagStrings renders tags as the test tables write them.
func tagStrings(tags []Tag) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t.Null {
			out = append(out, string(t.Key))
		} else {
			out = append(out, string(t.Key)+"="+string(t.Value))
		}
	}
	return out
}

func TestTagParser(t *testing.T) {
	var p TagParser
	for _, c := range tagsCases {
		tags, err := p.Parse([]byte(c.in))
		if c.bad != "" {
			if !errors.Is(err, ErrTags) || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("%q: err = %v, want ErrTags containing %q", c.in, err, c.bad)
			}
			continue
		}
		if got := tagStrings(tags); err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestTagParserManyKeys covers deduplication past smallTags.
func TestTagParserManyKeys(t *testing.T) {
	var in strings.Builder
	var want []string
	in.WriteString("{")
	for i := range 100 {
		fmt.Fprintf(&in, `"k%d":"v%d",`, i, i)
		if i%3 == 0 {
			want = append(want, fmt.Sprintf("k%d=w%d", i, i))
		} else {
			want = append(want, fmt.Sprintf("k%d=v%d", i, i))
		}
	}
	for i := 99; i >= 0; i -= 3 {
		fmt.Fprintf(&in, `"k%d":"x",`, i)
	}
	for i := 0; i < 100; i += 3 {
		fmt.Fprintf(&in, `"k%d":"w%d",`, i, i)
	}
	in.WriteString(`"k1":"v1"}`)
	var p TagParser
	tags, err := p.Parse([]byte(in.String()))
	if got := tagStrings(tags); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
}

// TestTagParserReuse checks results alias the input or the scratch buffer,
// that earlier results survive growth of the buffer within one Parse, and
// that steady-state parsing does not allocate.
func TestTagParserReuse(t *testing.T) {
	var p TagParser
	in := []byte(`{"plain":"v","esc\u00e9":"` + strings.Repeat(`\n`, 1000) + `","b":"\t"}`)
	tags, err := p.Parse(in)
	if err != nil || len(tags) != 3 {
		t.Fatalf("Parse = %q, %v", tagStrings(tags), err)
	}
	if &tags[0].Key[0] != &in[2] {
		t.Errorf("an unescaped key does not alias the input")
	}
	if string(tags[1].Key) != "escé" || string(tags[1].Value) != strings.Repeat("\n", 1000) ||
		string(tags[2].Value) != "\t" {
		t.Errorf("escaped strings corrupted: %q", tagStrings(tags))
	}
	if cap(tags[1].Key) != len(tags[1].Key) {
		t.Errorf("a decoded key can be appended into the scratch buffer")
	}
	typical := []byte(`{"env":"prod","team":"data\u00e9","cost-center":"cc-1234","n":7,"x":null}`)
	if n := testing.AllocsPerRun(100, func() { _, _ = p.Parse(typical) }); n != 0 {
		t.Errorf("Parse allocates %v times per call", n)
	}
}

// surrogateEscape matches a \u escape of a UTF-16 surrogate, which
// encoding/json replaces with U+FFFD where we refuse lone ones.
var surrogateEscape = regexp.MustCompile(`\\u[dD][89abcdefABCDEF]`)

// refTags decodes s with encoding/json: ok=false when it is not a JSON
// object with scalar values.
func refTags(s []byte) (map[string]any, bool) {
	if !json.Valid(s) { // Valid, unlike Decode, refuses trailing data
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	for _, x := range m {
		switch x.(type) {
		case map[string]any, []any:
			return nil, false
		}
	}
	return m, true
}

// sameTags compares our result with encoding/json's.
func sameTags(tags []Tag, want map[string]any) error {
	if len(tags) != len(want) {
		return fmt.Errorf("%d tags, encoding/json has %d", len(tags), len(want))
	}
	for _, tag := range tags {
		w, ok := want[string(tag.Key)]
		if !ok {
			return fmt.Errorf("key %q not in encoding/json's result", tag.Key)
		}
		var ws string
		switch w := w.(type) {
		case nil:
			if !tag.Null {
				return fmt.Errorf("key %q: want null", tag.Key)
			}
			continue
		case string:
			ws = w
		case json.Number:
			ws = w.String()
		case bool:
			ws = fmt.Sprint(w)
		}
		if tag.Null || string(tag.Value) != ws {
			return fmt.Errorf("key %q = %q (null %v), want %q", tag.Key, tag.Value, tag.Null, ws)
		}
	}
	return nil
}

func FuzzTags(f *testing.F) {
	for _, c := range tagsCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		var p TagParser
		tags, err := p.Parse(s)
		want, ok := refTags(s)
		switch {
		case !ok:
			if !errors.Is(err, ErrTags) {
				t.Fatalf("%q: Parse = %q, %v; encoding/json rejects it", s, tagStrings(tags), err)
			}
		case err != nil:
			if utf8.Valid(s) && !surrogateEscape.Match(s) {
				t.Fatalf("%q: Parse error %v; encoding/json accepts it", s, err)
			}
		default:
			if err := sameTags(tags, want); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
		}
	})
}

func BenchmarkTagParser(b *testing.B) {
	inputs := map[string]string{
		"typical": `{"env":"prod","team":"data-platform","cost-center":"cc-1234","application":"billing","owner":"jane.doe@example.com"}`,
		"escaped": `{"name":"caf\u00e9","path":"a\/b","note":"line1\nline2"}`,
	}
	for name, in := range inputs {
		s := []byte(in)
		b.Run(name, func(b *testing.B) {
			var p TagParser
			b.ReportAllocs()
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				if _, err := p.Parse(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSkipPlain checks the word-at-a-time scan against a byte loop, for every
// byte value at every position, with and without a second special byte later.
func TestSkipPlain(t *testing.T) {
	naive := func(s []byte, i int) int {
		for i < len(s) && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\' {
			i++
		}
		return i
	}
	for n := 0; n <= 20; n++ {
		for pos := 0; pos < n; pos++ {
			for c := range 256 {
				for _, later := range []int{-1, 0x00, 0x01, '"', 0xff} {
					s := bytes.Repeat([]byte("a"), n)
					s[pos] = byte(c)
					if later >= 0 && pos+1 < n {
						s[n-1] = byte(later)
					}
					for start := 0; start <= pos; start += 3 {
						if got, want := skipPlain(s, start), naive(s, start); got != want {
							t.Fatalf("skipPlain(%q, %d) = %d, want %d", s, start, got, want)
						}
					}
				}
			}
		}
	}
}

func TestTagParserLongKeyInError(t *testing.T) {
	var p TagParser
	_, err := p.Parse([]byte(`{"` + strings.Repeat("k", 10000) + `":[1]}`))
	if !errors.Is(err, ErrTags) || len(err.Error()) > 200 {
		t.Errorf("err = %.300v (%d bytes), want a short ErrTags", err, len(err.Error()))
	}
}
