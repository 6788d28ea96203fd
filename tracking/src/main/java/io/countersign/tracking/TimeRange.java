package io.countersign.tracking;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/**
 * A report's time window, {@code [from, until)}. Bounds are written as a relative age ({@code 7d},
 * {@code 24h}, {@code 30m}), an ISO date ({@code 2026-11-20}, midnight UTC) or an ISO instant
 * ({@code 2026-11-20T10:00:00Z}).
 */
public record TimeRange(Instant from, Instant until) {

    public static final TimeRange ALL = new TimeRange(Instant.parse("1970-01-01T00:00:00Z"), Instant.parse("9999-12-31T00:00:00Z"));

    public TimeRange {
        if (!from.isBefore(until)) {
            throw new IllegalArgumentException("report window starts at " + from + ", not before its end " + until
                    + "; make --since earlier than --until");
        }
    }

    /** From {@code --since}/{@code --until} (either may be null: open ended; until defaults to now). */
    public static TimeRange parse(String since, String until, Clock clock) {
        Instant now = clock.instant();
        Instant to = until == null || until.isBlank() ? now : bound("--until", until, now);
        Instant from = since == null || since.isBlank() ? ALL.from() : bound("--since", since, now);
        return new TimeRange(from, to);
    }

    public static TimeRange last(Duration d, Clock clock) {
        Instant now = clock.instant();
        return new TimeRange(now.minus(d), now);
    }

    static Instant bound(String option, String text, Instant now) {
        String s = text.trim();
        if (s.matches("\\d+[smhdw]")) {
            long n = Long.parseLong(s.substring(0, s.length() - 1));
            Duration d = switch (s.charAt(s.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                case 'd' -> Duration.ofDays(n);
                default -> Duration.ofDays(7 * n);
            };
            return now.minus(d);
        }
        try {
            if (s.length() == 10) {
                return LocalDate.parse(s).atStartOfDay(ZoneOffset.UTC).toInstant();
            }
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(option + " '" + text + "' is not a time: use an age like 7d, 24h, 30m, "
                    + "a date like 2026-11-20 or an instant like 2026-11-20T10:00:00Z", e);
        }
    }
}
