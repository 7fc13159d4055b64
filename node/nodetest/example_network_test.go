package nodetest_test

import (
	"fmt"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// greeting is the message a greeter sends.
type greeting struct{ Text string }

// greeter greets every other process when its "greet" timer fires, and
// emits what it hears.
type greeter struct{}

func (greeter) Start(env node.Env) {}

func (greeter) Receive(env node.Env, from node.ID, m node.Message) {
	env.Emit(fmt.Sprintf("heard %q from %v", m.(greeting).Text, from))
}

func (greeter) Timeout(env node.Env, t any) {
	for _, id := range env.Group() {
		if id != env.Self() {
			env.Send(id, greeting{fmt.Sprint(t)})
		}
	}
}

func (greeter) Request(env node.Env, r node.Request) {}

// A walk-through on a hand-driven network: n0 greets twice; the first time
// the link to n2 loses the message, the second time n1 is down.
func ExampleNetwork() {
	w := nodetest.NewNetwork(3, func(node.ID) greeter { return greeter{} }, nil)
	w.Drop = func(e nodetest.Envelope) bool { return e.To == 2 }
	w.Timeout(0, "hello")
	if err := w.Settle(); err != nil {
		panic(err)
	}
	w.Drop = nil
	w.Crash(1)
	w.Timeout(0, "again")
	if err := w.Settle(); err != nil {
		panic(err)
	}
	for _, e := range w.Trace.Events {
		fmt.Println(e.Node, e.Value)
	}
	// Output:
	// n1 heard "hello" from n0
	// n2 heard "again" from n0
}
