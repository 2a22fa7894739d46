package buses

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
)

// The generated feed's variety: several routes, the four directions, final
// stops with '&' (inside CDATA) and pattern directions with "&amp;".
var (
	routes     = []string{"22", "147", "36", "8", "9", "151", "3", "X9", "49", "62"}
	colors     = []string{"#3300ff", "#ff0000", "#33cc00", "#ff9900", "#cc33cc"}
	directions = []string{"North Bound", "South Bound", "East Bound", "West Bound"}
	stops      = []string{
		"Paulina & Howard Terminal", "Clark & Lake", "Harrison/Wabash",
		"Jackson & Austin Terminal", "95th/Dan Ryan Station", "Midway Orange Line",
	}
)

// Gen writes an allroutes-like feed of n buses in Beazley's schema: id,
// route, color, revenue, direction, latitude, longitude, pattern,
// patternDirection, run, finalStop (as CDATA) and operator. The same n
// always writes the same file. About one bus in eight carries extra
// whitespace: around a value (which the pipeline keeps, so such a bus
// does not match a filter on that field) or between elements.
func Gen(w io.Writer, n int) error {
	if n < 1 {
		return errNoBuses
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	rng := rand.New(rand.NewPCG(4, 2009))
	bw.WriteString("<?xml version=\"1.0\"?>\n<buses>\n")
	for i := range n {
		route := routes[rng.IntN(len(routes))]
		dir := directions[rng.IntN(len(directions))]
		odd := rng.IntN(8) // 0: spaces around the direction, 1: blank lines, 2: &amp;
		lat := 41.6 + rng.Float64()*0.45
		lon := -87.9 + rng.Float64()*0.38
		pdir := dir
		if odd == 2 {
			pdir = dir + " &amp; Express"
		}
		d := dir
		if odd == 0 {
			d = "  " + dir + " "
		}
		sep := "\n      "
		if odd == 1 {
			sep = "\n\n\t      "
		}
		// A failed write (a full disk) fails every later one at once:
		// stop at the first, not after n buses.
		if _, err := fmt.Fprintf(bw, "<bus>%s<id>%d</id>%s<route>%s</route>%s<color>%s</color>%s<revenue>%t</revenue>"+
			"%s<direction>%s</direction>%s<latitude>%s</latitude>%s<longitude>%s</longitude>"+
			"%s<pattern>%d</pattern>%s<patternDirection>%s</patternDirection>%s<run>P%d</run>"+
			"%s<finalStop><![CDATA[%s]]></finalStop>%s<operator>%d</operator>\n</bus>\n",
			sep, 1000+i%9000, sep, route, sep, colors[rng.IntN(len(colors))], sep, rng.IntN(10) > 0,
			sep, d, sep, strconv.FormatFloat(lat, 'f', -1, 64), sep, strconv.FormatFloat(lon, 'f', -1, 64),
			sep, 1000+rng.IntN(9000), sep, pdir, sep, 100+rng.IntN(900),
			sep, stops[rng.IntN(len(stops))], sep, 10000+rng.IntN(90000)); err != nil {
			return err
		}
	}
	bw.WriteString("</buses>\n")
	return bw.Flush()
}

// BusesFor returns how many buses make a feed of about size bytes.
func BusesFor(size int64) int {
	const perBus = 455 // the average bus Gen writes, measured
	return max(1, int(size/perBus))
}
