package io.countersign.approvals;

import java.time.Instant;
import java.util.Objects;

/** One reviewer's verdict on a request. */
public record Decision(String reviewer, Verdict verdict, String comment, Instant at, Channel channel) {
    public Decision {
        Objects.requireNonNull(reviewer, "reviewer");
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(channel, "channel");
        comment = comment == null ? "" : comment;
    }
}
