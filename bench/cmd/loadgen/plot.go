package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// panel is one histogram of the figure: several latency distributions on one log axis.
type panel struct {
	title  string
	xlabel string
	series []string // Summary names
	scale  float64  // divide ms by this (1000: seconds)
}

var palette = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255},
	color.RGBA{R: 214, G: 39, B: 40, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255},
	color.RGBA{R: 255, G: 127, B: 14, A: 255},
}

// histogram draws the latency distributions (share of requests per log-spaced bin) of the run,
// four panels, as a PNG.
func (r *Results) histogram(path string) error {
	panels := []panel{
		{"debit-hook vs bare PostgreSQL INSERT (same concurrency)", "latency (ms, log scale)",
			[]string{"floor: PostgreSQL INSERT", "debit-hook", "debit-hook, Temporal stopped"}, 1},
		{"eko-response and partner callback", "latency (ms, log scale)",
			[]string{"eko-response", "partner callback", "eko-response, Temporal stopped"}, 1},
		{"bare Temporal SignalWithStart (floor)", "latency (ms, log scale)",
			[]string{"floor: Temporal SignalWithStart"}, 1},
		{"callback to final state in PostgreSQL", "time (s, log scale)",
			[]string{"eko-response → final state", "eko-response → final state, paced*", "partner callback → final state"}, 1000},
	}
	plots := make([][]*plot.Plot, 2)
	for i := range plots {
		plots[i] = make([]*plot.Plot, 2)
	}
	for i, pn := range panels {
		p, err := r.panelPlot(pn)
		if err != nil {
			return err
		}
		plots[i/2][i%2] = p
	}
	img := vgimg.NewWith(vgimg.UseWH(13*vg.Inch, 8.5*vg.Inch), vgimg.UseDPI(100))
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Points(24), PadY: vg.Points(24), PadTop: vg.Points(12),
		PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(12)}
	canvases := plot.Align(plots, tiles, dc)
	for j := range plots {
		for i := range plots[j] {
			plots[j][i].Draw(canvases[j][i])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *Results) panelPlot(pn panel) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text = pn.xlabel
	p.Y.Label.Text = "% of requests per bin"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = ticks125{}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.TextStyle.Font.Size = vg.Points(10)

	var series []Summary
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, name := range pn.series {
		s, ok := r.get(name)
		if prefix, isPrefix := strings.CutSuffix(name, "*"); isPrefix {
			s, ok = r.getPrefix(prefix)
		}
		if !ok || len(s.Latencies) == 0 {
			continue
		}
		series = append(series, s)
		lo = math.Min(lo, s.Latencies[0]/pn.scale)
		hi = math.Max(hi, s.Latencies[len(s.Latencies)-1]/pn.scale)
	}
	if len(series) == 0 {
		p.Title.Text += " (not measured)"
		return p, nil
	}
	lo = math.Max(lo, 1e-3)
	hi = math.Max(hi, lo*1.01)
	const bins = 48
	edges := make([]float64, bins+1)
	for i := range edges {
		edges[i] = lo * math.Pow(hi/lo, float64(i)/bins)
	}
	for k, s := range series {
		counts := make([]float64, bins)
		for _, v := range s.Latencies {
			v /= pn.scale
			i := int(float64(bins) * math.Log(math.Max(v, lo)/lo) / math.Log(hi/lo))
			counts[min(max(i, 0), bins-1)]++
		}
		var pts plotter.XYs
		pts = append(pts, plotter.XY{X: edges[0], Y: 0})
		for i, c := range counts {
			y := 100 * c / float64(len(s.Latencies))
			pts = append(pts, plotter.XY{X: edges[i], Y: y}, plotter.XY{X: edges[i+1], Y: y})
		}
		pts = append(pts, plotter.XY{X: edges[bins], Y: 0})
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color = palette[k%len(palette)]
		line.Width = vg.Points(1.8)
		p.Add(line)
		unit, scale := "ms", 1.0
		if pn.scale == 1000 {
			unit, scale = "s", 1000
		}
		p.Legend.Add(fmt.Sprintf("%s (n=%d, p50 %s, p99 %s %s)", s.Name, s.Count,
			short(s.P50/scale), short(s.P99/scale), unit), line)
	}
	// Room above the tallest bin for the legend.
	p.Y.Min = 0
	p.Y.Max *= 1.5
	return p, nil
}

// ticks125 labels a log axis at 1, 2 and 5 times each power of ten (gonum's LogTicks labels
// powers of ten only, too few for a range like 20-300 ms).
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconvG(v)
			}
			out = append(out, t)
		}
	}
	return out
}

func strconvG(v float64) string {
	if v >= 1 {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

func short(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
