package io.countersign.approvals;

import java.time.Instant;
import java.util.Objects;

/** One reviewer's verdict on a request, with how that reviewer authenticated. */
public record Decision(String reviewer, Verdict verdict, String comment, Instant at, Channel channel, ReviewerAuth auth) {
    public Decision {
        Objects.requireNonNull(reviewer, "reviewer");
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(channel, "channel");
        comment = comment == null ? "" : comment;
        auth = auth == null ? ReviewerAuth.implied(channel) : auth;
    }

    /** A decision whose authentication is implied by its channel (chat) or not known (read back from the store). */
    public Decision(String reviewer, Verdict verdict, String comment, Instant at, Channel channel) {
        this(reviewer, verdict, comment, at, channel, null);
    }
}
