package io.countersign.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The Parquet writer's thread really ends up at idle priority, and only that thread. */
class PrioritiesTest {

    /** Fields 19 (nice) and 41 (scheduling policy) of a thread's stat line; the comm field may hold spaces. */
    private static long[] niceAndPolicy(Path stat) throws Exception {
        String line = Files.readString(stat);
        String[] f = line.substring(line.lastIndexOf(')') + 2).split(" ");
        return new long[] {Long.parseLong(f[16]), Long.parseLong(f[38])};
    }

    @Test
    void theCallingThreadGoesToIdlePriorityAndOthersDoNot() throws Exception {
        assumeTrue(Files.exists(Path.of("/proc/thread-self/stat")), "no /proc: not Linux");
        AtomicReference<long[]> seen = new AtomicReference<>();
        AtomicReference<Boolean> lowered = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            lowered.set(Priorities.lowerCurrentThread(LoggerFactory.getLogger(PrioritiesTest.class)));
            try {
                seen.set(niceAndPolicy(Path.of("/proc/thread-self/stat")));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        t.join();
        assumeTrue(lowered.get(), "neither chrt nor renice is installed here");
        long[] np = seen.get();
        // SCHED_IDLE is policy 5; renice's fallback leaves SCHED_OTHER (0) with nice 19
        assertThat(np[1] == 5 || np[0] == 19).as("nice %d, policy %d", np[0], np[1]).isTrue();
        long[] mine = niceAndPolicy(Path.of("/proc/thread-self/stat"));
        assertThat(mine[1]).as("the test's own thread keeps its policy").isZero();
        assertThat(mine[0]).as("and its nice value").isZero();
    }
}
