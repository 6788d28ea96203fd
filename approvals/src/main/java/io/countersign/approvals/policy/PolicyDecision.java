package io.countersign.approvals.policy;

import java.time.Duration;
import java.util.List;

/** What the policy says about one statement string. */
public sealed interface PolicyDecision {

    /** The name of the rule that decided. */
    String rule();

    record Allow(String rule) implements PolicyDecision {}

    /**
     * Hold the statement until {@code quorum} distinct reviewers of {@code reviewerGroup} approve it.
     *
     * @param timeout  how long the request may wait before it expires
     * @param validity how long an approval stays usable (ticket mode) once given
     * @param reasons  the analysis findings that led here, for the reviewer
     */
    record Hold(String rule, Tier tier, String reviewerGroup, int quorum, Duration timeout, Duration validity,
            List<String> reasons) implements PolicyDecision {
        public Hold {
            reasons = List.copyOf(reasons);
            if (quorum < 1) {
                throw new IllegalArgumentException("quorum must be at least 1, got " + quorum);
            }
        }
    }

    record Deny(String rule, String reason) implements PolicyDecision {}
}
