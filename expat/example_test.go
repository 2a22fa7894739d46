package expat_test

import (
	"fmt"
	"strings"

	"github.com/corokernel/corokernel/expat"
)

// libexpat's SAX handlers as a stream of events, pulled by a for range
// loop: each handler call is one iteration.
func ExampleEvents() {
	feed := `<bus><route>22</route><direction>North Bound</direction></bus>`
	for ev, err := range expat.Events(strings.NewReader(feed)) {
		if err != nil {
			fmt.Println(err)
			return
		}
		switch ev.Kind {
		case expat.Start:
			fmt.Printf("start %s\n", ev.Name)
		case expat.Text:
			fmt.Printf("text  %q\n", ev.Text)
		case expat.End:
			fmt.Printf("end   %s\n", ev.Name)
		}
	}
	// Output:
	// start bus
	// start route
	// text  "22"
	// end   route
	// start direction
	// text  "North Bound"
	// end   direction
	// end   bus
}

// Errors carry libexpat's message, line and column.
func ExampleSyntaxError() {
	for _, err := range expat.Events(strings.NewReader("<a><b></a>")) {
		if err != nil {
			fmt.Println(err)
		}
	}
	// Output: expat: line 1, column 8: mismatched tag
}

// Walk is the push style: libexpat calls the function for every event.
func ExampleWalk() {
	n := 0
	err := expat.Walk(strings.NewReader("<a><b/><b/></a>"), func(ev *expat.Event) error {
		if ev.Kind == expat.Start {
			n++
		}
		return nil
	})
	fmt.Println(n, err)
	// Output: 3 <nil>
}
