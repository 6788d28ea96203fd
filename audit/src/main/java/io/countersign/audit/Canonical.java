package io.countersign.audit;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Normalises record fields to what Parquet stores exactly (microsecond timestamps, empty rather than
 * null lists), so a record read back from Parquet hashes to the same bytes it was journalled with.
 */
final class Canonical {
    private Canonical() {}

    static Instant micros(Instant t) {
        return t == null ? null : t.truncatedTo(ChronoUnit.MICROS);
    }

    static Duration micros(Duration d) {
        return d == null ? null : d.truncatedTo(ChronoUnit.MICROS);
    }

    /** Null becomes empty; null elements stay (a SQL NULL parameter is a real value). */
    static <T> List<T> list(List<T> in) {
        if (in == null || in.isEmpty()) {
            return List.of();
        }
        return Collections.unmodifiableList(new ArrayList<>(in));
    }

    /**
     * Null becomes empty; a null element is refused. {@link List#copyOf} returns a list that is already an
     * immutable copy as it is, so a record built from immutable lists copies nothing.
     */
    static <T> List<T> listNoNulls(List<T> in, String what) {
        if (in == null || in.isEmpty()) {
            return List.of();
        }
        try {
            return List.copyOf(in);
        } catch (NullPointerException e) {
            throw new IllegalArgumentException(what + " must not contain null elements");
        }
    }
}
