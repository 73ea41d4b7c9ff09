package dev.kindling.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Team: every member runs the region, barriers order the phases, failures reach the caller. */
@ExtendWith(TwoKernelThreads.class)
class TeamTest {
    @Test
    void barriersSeparatePhasesOverManyRegions() {
        Team team = Team.shared();
        assertEquals(2, team.size());
        int[] slots = new int[team.size()];
        int[] mismatches = new int[team.size()];
        for (int region = 0; region < 50; region++) {
            int r = region;
            team.run(m -> {
                for (int phase = 0; phase < 5; phase++) {
                    slots[m.index()] = r * 10 + phase;  // written by this member only
                    m.barrier();
                    for (int v : slots) if (v != r * 10 + phase) mismatches[m.index()]++; // everyone's write is visible
                    m.barrier();                         // nobody writes the next phase before all have read
                }
            });
        }
        assertEquals(0, mismatches[0] + mismatches[1]);
    }

    @Test
    void aMemberParkedAtABarrierIsWokenByTheLastArrival() throws Exception {
        int[] seen = new int[2];
        for (int round = 0; round < 3; round++) {
            int r = round;
            Team.shared().run(m -> {
                if (m.index() == 1) {
                    try {
                        Thread.sleep(5); // far past the barrier's spin: member 0 parks
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    seen[1] = r + 1;
                }
                m.barrier();
                seen[0] = seen[1];
            });
            assertEquals(r + 1, seen[0]);
        }
    }

    @Test
    void sharesCoverTheRangeInAlignedPieces() {
        AtomicInteger covered = new AtomicInteger();
        int[] from = new int[2], to = new int[2];
        Team.shared().run(m -> {
            from[m.index()] = m.from(1001, 4);
            to[m.index()] = m.to(1001, 4);
            covered.addAndGet(to[m.index()] - from[m.index()]);
        });
        assertEquals(0, from[0]);
        assertEquals(to[0], from[1]);
        assertEquals(0, to[0] % 4);
        assertEquals(1001, to[1]);
        assertEquals(1001, covered.get());
    }

    @Test
    void aFailingMemberReleasesTheOthersAndItsExceptionReachesTheCaller() {
        var boom = new IllegalStateException("member 1 failed");
        var e = assertThrows(IllegalStateException.class, () -> Team.shared().run(m -> {
            if (m.index() == 1) throw boom;
            m.barrier(); // would wait forever for member 1 without the abort
        }));
        assertSame(boom, e);
        AtomicInteger ran = new AtomicInteger();
        Team.shared().run(m -> ran.incrementAndGet()); // the team still works
        assertEquals(2, ran.get());
    }

    @Test
    void aRegionStartedInsideARegionRunsOnItsCallerAlone() {
        int[] innerSizes = new int[2];
        Team.shared().run(m -> Team.shared().run(inner -> {
            innerSizes[m.index()] = inner.size();
            inner.barrier();
        }));
        assertEquals(1, innerSizes[0]);
        assertEquals(1, innerSizes[1]);
    }
}
