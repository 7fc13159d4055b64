package raftbench

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

// The figure is well-formed XML with one panel per graph and one CDF line
// per result, each climbing from 0% to the share of trials that finished.
func TestWriteSVG(t *testing.T) {
	var results []TimingResult
	for _, r := range []Range{{ms(150), ms(155)}, {ms(150), ms(300)}, {ms(12), ms(24)}, {ms(30), ms(40)}} {
		res, err := ElectionTiming(TimingConfig{Range: r, Trials: 8, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	// A line with a timed-out trial stops short of 100%.
	results[0].Trials[0].TimedOut = true
	results[0].TimedOut = 1
	panels := FigurePanels(results)
	if len(panels) != 3 {
		t.Fatalf("%d panels, want top, bottom and other", len(panels))
	}
	if n := len(panels[0].Results) + len(panels[1].Results) + len(panels[2].Results); n != 5 {
		t.Errorf("%d lines, want 5 (150-300ms in both Figure 16 graphs)", n)
	}
	var buf bytes.Buffer
	if err := WriteSVG(&buf, panels); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	var lines []string
	groups := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, buf.String())
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		switch {
		case se.Name.Local == "svg" && se.Name.Space != "http://www.w3.org/2000/svg":
			t.Errorf("svg element in namespace %q", se.Name.Space)
		case se.Name.Local == "g" && attr["class"] == "panel":
			groups++
		case se.Name.Local == "polyline" && attr["class"] == "cdf":
			lines = append(lines, attr["data-range"])
			pts := strings.Fields(attr["points"])
			if len(pts) < 2 {
				t.Errorf("line %s has %d points", attr["data-range"], len(pts))
				continue
			}
			first, last := pts[0], pts[len(pts)-1]
			y := func(p string) string { return p[strings.Index(p, ",")+1:] }
			if y(first) == y(last) {
				t.Errorf("line %s is flat: %s ... %s", attr["data-range"], first, last)
			}
		}
	}
	if groups != 3 {
		t.Errorf("%d panels drawn, want 3", groups)
	}
	want := []string{"150-155ms", "150-300ms", "150-300ms", "12-24ms", "30-40ms"}
	if strings.Join(lines, " ") != strings.Join(want, " ") {
		t.Errorf("lines %v, want %v", lines, want)
	}
	for _, s := range []string{"time without leader", "cumulative percent", "100%", "n=8, 1 &gt; 100s"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("figure lacks %q", s)
		}
	}
}

func TestCDF(t *testing.T) {
	r := TimingResult{Trials: []Trial{{Known: ms(30)}, {Known: ms(10)}, {Known: ms(10)}, {Known: ms(20), TimedOut: true}}}
	got := r.CDF()
	want := []CDFPoint{{ms(10), 0.5}, {ms(30), 0.75}}
	if len(got) != len(want) {
		t.Fatalf("CDF %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("CDF[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if p := r.Percentile(0.5); p != ms(10) {
		t.Errorf("median %v, want 10ms", p)
	}
	if p := r.Percentile(1); p != ms(30) {
		t.Errorf("max %v, want 30ms", p)
	}
	_ = time.Second
}
