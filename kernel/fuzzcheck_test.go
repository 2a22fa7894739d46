package kernel

// checkFacts: what must hold of any run of a fuzzed program, whatever the
// poller and the task kinds.

import (
	"fmt"
	"slices"
)

// checkFacts checks what an outcome of p must satisfy whatever the order
// of events, and returns what it breaks.
func checkFacts(p *program, out *outcome) (bad []string) {
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	n := len(out.Tasks)
	if n < len(p.Roots) || n > maxTasks {
		fail("%d tasks for %d roots", n, len(p.Roots))
		return bad
	}
	// Every task ends once.
	seen := make([]int, n+1)
	for _, tid := range out.Log {
		if tid < 1 || int(tid) > n {
			fail("log names task %d of %d", tid, n)
			continue
		}
		seen[tid]++
	}
	for tid := 1; tid <= n; tid++ {
		if seen[tid] != 1 {
			fail("task %d terminated %d times", tid, seen[tid])
		}
	}
	// Each task's resumes: none, or one more than its results.
	resumes := make([]int, n)
	for _, e := range out.Events {
		if e < 0 || int(e) >= n {
			fail("event names slot %d", e)
			continue
		}
		resumes[e]++
	}
	parent := make([]int, n) // slot -> spawning TID, or -1 for roots
	for i := range len(p.Roots) {
		parent[i] = -1
	}
	killedBy := make([]int, n+1) // TID -> killer's TID
	pendingWait := make([]int64, n+1)
	pendingKill := make([]int, n+1) // TID -> killers killed before they saw the result
	for i, to := range out.Tasks {
		tid := int64(i + 1)
		started := resumes[i] > 0
		if !started && (len(to.Res) > 0 || to.Done) {
			fail("task %d: never resumed, %d results (done %v)", tid, len(to.Res), to.Done)
		}
		if to.Script < 0 || to.Script >= len(p.Scripts) {
			fail("task %d runs script %d", tid, to.Script)
			continue
		}
		ops := p.Scripts[to.Script]
		var me, child int64
		j := 0     // results consumed
		traps := 0 // of them, results of traps (a spawn over the cap makes none)
		pc := 0
		for ; pc < len(ops) && ops[pc].Op != fzEnd; pc++ {
			if j == len(to.Res) {
				break
			}
			o, r := ops[pc], to.Res[j]
			arg := int64(0)
			if j < len(to.Arg) {
				arg = to.Arg[j]
			}
			target := o.B
			switch o.A {
			case tMe:
				target = me
			case tChild:
				target = child
			}
			j++
			if r != noSpawn || o.Op != fzSpawn {
				traps++
			}
			switch o.Op {
			case fzYield, fzSleep:
				if r != 0 {
					fail("task %d op %d %v = %d", tid, pc, o, r)
				}
			case fzGetTid:
				me = r
				if r != tid {
					fail("task %d: GetTid = %d", tid, r)
				}
			case fzSpawn:
				if r == noSpawn {
					break
				}
				child = r
				if r != arg+1 || arg < int64(len(p.Roots)) || arg >= int64(n) {
					fail("task %d: spawn into slot %d = task %d", tid, arg, r)
				} else if parent[arg] != 0 {
					fail("task %d: slot %d spawned twice", tid, arg)
				} else {
					parent[arg] = int(tid)
				}
			case fzKill, fzWait:
				if arg != target {
					fail("task %d op %d %v: target %d, want %d", tid, pc, o, arg, target)
				}
				switch {
				case r != 0 && r != 1:
					fail("task %d op %d %v = %d", tid, pc, o, r)
				case o.Op == fzKill && target == tid:
					fail("task %d returned from killing itself", tid)
				case r == 1 && (target == tid || target < 1 || target > int64(n)):
					fail("task %d op %d %v = 1 for no task", tid, pc, o)
				case r == 1 && o.Op == fzKill:
					if killedBy[target] != 0 {
						fail("task %d killed by %d and %d", target, killedBy[target], tid)
					}
					killedBy[target] = int(tid)
					if out.Tasks[target-1].Done {
						fail("task %d killed %d, which finished", tid, target)
					}
				}
			}
		}
		if started && resumes[i] != traps+1 {
			fail("task %d: %d resumes for %d traps", tid, resumes[i], traps)
		}
		switch {
		case j != len(to.Res):
			fail("task %d: %d results for the ops of script %d", tid, len(to.Res), to.Script)
		case to.Done:
			if pc != to.PC || pc < len(ops) && ops[pc].Op != fzEnd {
				fail("task %d finished at op %d, ended at %d", tid, to.PC, pc)
			}
		case started:
			// Killed while suspended in the trap of op pc.
			if pc != to.PC || pc >= len(ops) || ops[pc].Op == fzEnd || len(to.Arg) != j+1 {
				fail("task %d killed at op %d of script %d (ends at %d, %d args)", tid, to.PC, to.Script, pc, len(to.Arg))
				break
			}
			o := ops[pc]
			target := o.B
			switch o.A {
			case tMe:
				target = me
			case tChild:
				target = child
			}
			if (o.Op == fzKill || o.Op == fzWait) && to.Arg[j] != target {
				fail("task %d killed in %v: target %d, want %d", tid, o, to.Arg[j], target)
			}
			switch {
			case o.Op == fzSpawn:
				if slot := to.Arg[j]; slot < int64(len(p.Roots)) || slot >= int64(n) || parent[slot] != 0 {
					fail("task %d killed in a spawn into slot %d", tid, slot)
				} else {
					parent[slot] = int(tid)
				}
			case o.Op == fzKill && target == tid:
				if killedBy[tid] != 0 {
					fail("task %d killed by %d and by itself", tid, killedBy[tid])
				}
				killedBy[tid] = int(tid)
			case o.Op == fzWait:
				pendingWait[tid] = target
			case o.Op == fzKill && target >= 1 && target <= int64(n):
				pendingKill[target]++ // it may have killed target
			}
		}
	}
	for slot := len(p.Roots); slot < n; slot++ {
		if parent[slot] == 0 {
			fail("task %d was never returned by a spawn", slot+1)
		}
	}
	// No lost wakeup: the tasks that neither finished nor were killed by
	// a KillTask that returned 1 were killed by a KillTask whose killer
	// was killed before it saw the result, or by the deadlock, each
	// waiting for another such task.
	var left []int
	isLeft := make([]bool, n+1)
	for i, to := range out.Tasks {
		if !to.Done && killedBy[i+1] == 0 {
			left = append(left, i+1)
			isLeft[i+1] = true
		}
	}
	waitsLeft := func(tid int) bool {
		w := pendingWait[tid]
		return w >= 1 && w <= int64(n) && isLeft[w]
	}
	switch {
	case !out.Deadlock:
		for _, tid := range left {
			if pendingKill[tid] == 0 {
				fail("no deadlock, but task %d neither finished nor was killed", tid)
			}
		}
	case !p.hasWait():
		fail("deadlock without a WaitTask")
	case !slices.ContainsFunc(left, waitsLeft):
		fail("deadlock, but no task left waits for another (left: %v)", left)
	default:
		for _, tid := range left {
			if pendingKill[tid] == 0 && !waitsLeft(tid) {
				fail("deadlock: task %d was not waiting for a task left (%d): lost wakeup", tid, pendingWait[tid])
			}
		}
	}
	return bad
}
