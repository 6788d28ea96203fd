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

    static <T> List<T> listNoNulls(List<T> in, String what) {
        List<T> out = list(in);
        for (T t : out) {
            if (t == null) {
                throw new IllegalArgumentException(what + " must not contain null elements");
            }
        }
        return out;
    }
}
