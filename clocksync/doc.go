// Package clocksync holds the classic physical clock synchronization
// algorithms, each a node.Process: Cristian's remote clock reading
// (cristian.go), the Berkeley algorithm of TEMPO (berkeley.go), NTP's on-wire
// offset and delay estimation with its clock filter (ntp.go), and reference
// broadcast synchronization (rbs.go), with the checker of what they promise
// (check.go).
//
// Every process keeps an adjusted clock on top of its node's own clock
// (env.Now(), which the simulator skews and drifts on purpose). A correction
// is slewed, spread over time at Discipline.SlewRate, so the adjusted clock
// never runs backward. Each algorithm also computes an error bound: how far
// its adjusted clock may be from the algorithm's reference clock (the time
// server, the Berkeley master's clock, the mean of the RBS receivers'
// clocks). A process reports both in a Reading whenever it is asked the time
// (a Sample request) and just before and just after each correction, so the
// checker can compare every adjusted clock with the others at the same true
// instant and hold each algorithm to its own bound.
//
// Clock readings travel in messages as nanoseconds since the Unix epoch
// (wireTime): the wire codec would keep a time.Time only to the second.
package clocksync
