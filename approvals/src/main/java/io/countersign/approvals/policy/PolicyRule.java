package io.countersign.approvals.policy;

import java.time.Duration;
import java.util.Optional;

/**
 * One rule of the policy, in file order.
 *
 * @param reason        for {@code deny}: the message the agent receives
 * @param slackChannel  where Slack announces requests of this rule (nullable)
 * @param teamsChannel  where Teams announces requests of this rule (nullable)
 * @param runAs         for {@code hold}: the elevated backend role an approved statement runs as (nullable)
 */
public record PolicyRule(
        String name,
        RuleMatch match,
        Action action,
        Tier tier,
        String reviewerGroup,
        int quorum,
        Duration holdTimeout,
        Duration approvalValidity,
        String reason,
        String slackChannel,
        String teamsChannel,
        String runAs) {

    public PolicyRule(String name, RuleMatch match, Action action, Tier tier, String reviewerGroup, int quorum,
                      Duration holdTimeout, Duration approvalValidity, String reason, String slackChannel, String teamsChannel) {
        this(name, match, action, tier, reviewerGroup, quorum, holdTimeout, approvalValidity, reason, slackChannel, teamsChannel, null);
    }

    public Optional<String> slack() {
        return Optional.ofNullable(slackChannel);
    }

    public Optional<String> teams() {
        return Optional.ofNullable(teamsChannel);
    }
}
