package io.countersign.audit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * Puts the calling thread at idle CPU priority on Linux (SCHED_IDLE with {@code chrt}, else nice 19 with
 * {@code renice}; both act on one thread when given its thread id). Best effort: where neither tool nor
 * /proc exists (a minimal container), the thread keeps normal priority and only a debug line says so.
 */
final class Priorities {
    private Priorities() {}

    static boolean lowerCurrentThread(Logger log) {
        String tid;
        try {
            tid = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
        } catch (Exception e) {
            log.debug("cannot find this thread's id ({}); {} keeps normal CPU priority", e.toString(), Thread.currentThread().getName());
            return false;
        }
        for (List<String> cmd : List.of(List.of("chrt", "--idle", "-p", "0", tid), List.of("renice", "-n", "19", "-p", tid))) {
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    log.debug("{} runs at idle CPU priority ({})", Thread.currentThread().getName(), cmd.get(0));
                    return true;
                }
                p.destroyForcibly();
            } catch (Exception e) {
                // try the next tool
            }
        }
        log.debug("{} keeps normal CPU priority: neither chrt nor renice worked here", Thread.currentThread().getName());
        return false;
    }
}
