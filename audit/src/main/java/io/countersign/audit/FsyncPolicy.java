package io.countersign.audit;

import java.time.Duration;

/** When an appended record counts as durable. */
public sealed interface FsyncPolicy {

    /**
     * The append's future completes only after the journal was fsynced with the record in it. One fsync
     * covers every record queued meanwhile (group commit), so throughput grows with concurrency.
     */
    record PerStatement() implements FsyncPolicy {}

    /**
     * The future completes once the record is in the journal file (the OS page cache: it survives a crash
     * of this process); fsync follows within {@code maxDelay}, which bounds what a power loss can take.
     */
    record Bounded(Duration maxDelay) implements FsyncPolicy {
        public Bounded {
            if (maxDelay == null || maxDelay.isNegative() || maxDelay.isZero()) {
                throw new IllegalArgumentException("bounded fsync needs a positive delay, got " + maxDelay
                        + "; use per-statement for an fsync before every acknowledgement");
            }
        }
    }

    static FsyncPolicy perStatement() {
        return new PerStatement();
    }

    static FsyncPolicy bounded(Duration maxDelay) {
        return new Bounded(maxDelay);
    }

    /** Parses the config spellings {@code per-statement} and {@code bounded:5ms} / {@code bounded:5}. */
    static FsyncPolicy parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("per-statement")) {
            return perStatement();
        }
        if (t.startsWith("bounded")) {
            String ms = t.substring("bounded".length()).replaceFirst("^[:=]", "").replaceFirst("ms$", "");
            try {
                return bounded(Duration.ofMillis(ms.isEmpty() ? 5 : Long.parseLong(ms)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("audit fsync policy '" + text + "': the bound must be milliseconds, e.g. bounded:5ms");
            }
        }
        throw new IllegalArgumentException("audit fsync policy '" + text + "' is not known; use per-statement or bounded:<ms>ms");
    }
}
