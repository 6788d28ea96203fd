package io.countersign.approvals.policy;

import io.countersign.analysis.Finding;
import io.countersign.analysis.StatementAnalysis;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * An immutable, parsed policy. Each statement of a string is decided on its own by the first
 * matching rule; the string as a whole gets the strictest of those decisions (deny over hold over
 * allow; among holds the highest tier and quorum, the shortest timeout and validity, all reasons).
 * A statement no rule matches is held: the policy fails closed.
 */
public final class PolicyEngine {

    public static final String DEFAULT_RESOURCE = "/io/countersign/approvals/policy/default-policy.yaml";
    /** The rule name recorded when no rule matched a statement. */
    public static final String NO_MATCH = "(no rule matched)";

    /** Statement kinds that never run under a run-as role: they could make it outlive the statement. */
    private static final Set<String> NEVER_ELEVATED = Set.of("BEGIN", "COMMIT", "COMMIT PREPARED", "ROLLBACK",
            "ROLLBACK TO SAVEPOINT", "ROLLBACK PREPARED", "SAVEPOINT", "RELEASE", "PREPARE TRANSACTION", "SET", "RESET",
            "XA", "UNKNOWN", "DISCARD", "LOCK", "USE", "DECLARE");

    private final List<PolicyRule> rules;
    private final String sha256;
    private final String source;

    private PolicyEngine(List<PolicyRule> rules, String sha256, String source) {
        this.rules = rules;
        this.sha256 = sha256;
        this.source = source;
    }

    /** Parses a policy; {@code source} names it in error messages (a path or "default"). */
    public static PolicyEngine parse(String yaml, String source) {
        return new PolicyEngine(PolicyParser.parse(yaml, source), sha256(yaml), source);
    }

    public static PolicyEngine load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PolicyException("policy " + file + ": cannot be read (" + e.getMessage()
                    + "); check the path in the config and the file's permissions", e);
        }
        return parse(text, file.toString());
    }

    /** The policy shipped with Countersign, used when the config names none. */
    public static PolicyEngine defaultPolicy() {
        return parse(defaultPolicyText(), "default");
    }

    public static String defaultPolicyText() {
        try (InputStream in = PolicyEngine.class.getResourceAsStream(DEFAULT_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the default policy " + DEFAULT_RESOURCE + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public List<PolicyRule> rules() {
        return rules;
    }

    public Optional<PolicyRule> rule(String name) {
        return rules.stream().filter(r -> r.name().equals(name)).findFirst();
    }

    /** Hex SHA-256 of the policy text, recorded with reload events and in the audit. */
    public String sha256() {
        return sha256;
    }

    public String source() {
        return source;
    }

    public PolicyDecision decide(StatementFacts facts) {
        if (facts.statements().isEmpty()) {
            return new PolicyDecision.Allow("(empty statement)");
        }
        PolicyDecision.Deny deny = null;
        List<PolicyDecision.Hold> holds = new ArrayList<>();
        String allowRule = null;
        for (StatementAnalysis statement : facts.statements()) {
            PolicyDecision one = decideOne(facts, statement);
            switch (one) {
                case PolicyDecision.Deny d -> { if (deny == null) deny = d; }
                case PolicyDecision.Hold h -> holds.add(h);
                case PolicyDecision.Allow a -> { if (allowRule == null) allowRule = a.rule(); }
            }
        }
        if (deny != null) {
            return deny;
        }
        if (holds.isEmpty()) {
            return new PolicyDecision.Allow(allowRule);
        }
        return strictest(holds);
    }

    /**
     * The elevated backend role the statement string runs as once approved: only when every one of
     * its statements was held by a rule naming that same {@code run-as} role; otherwise none, and the
     * statement runs as the agent's own backend user (a role is never lent to a statement it was not meant for).
     * Nor to statements that control transactions or session state (BEGIN, COMMIT, SAVEPOINT, SET, ...)
     * or whose kind is unknown: those could carry the role past the statement.
     */
    public Optional<String> runAs(StatementFacts facts) {
        String role = null;
        for (StatementAnalysis statement : facts.statements()) {
            String kind = statement.kind() == null ? "UNKNOWN" : statement.kind().toUpperCase(java.util.Locale.ROOT);
            if (NEVER_ELEVATED.contains(kind) || kind.startsWith("START ")) {
                return Optional.empty();
            }
            PolicyRule matched = rules.stream().filter(r -> r.match().matches(facts, statement)).findFirst().orElse(null);
            if (matched == null || matched.action() != Action.HOLD || matched.runAs() == null
                    || (role != null && !role.equals(matched.runAs()))) {
                return Optional.empty();
            }
            role = matched.runAs();
        }
        return Optional.ofNullable(role);
    }

    private PolicyDecision decideOne(StatementFacts facts, StatementAnalysis statement) {
        for (PolicyRule rule : rules) {
            if (rule.match().matches(facts, statement)) {
                return switch (rule.action()) {
                    case ALLOW -> new PolicyDecision.Allow(rule.name());
                    case DENY -> new PolicyDecision.Deny(rule.name(), rule.reason());
                    case HOLD -> new PolicyDecision.Hold(rule.name(), rule.tier(), rule.reviewerGroup(), rule.quorum(),
                            rule.holdTimeout(), rule.approvalValidity(), reasons(statement, rule));
                };
            }
        }
        List<String> reasons = new ArrayList<>(reasons(statement, null));
        return new PolicyDecision.Hold(NO_MATCH, Tier.HIGH, "dba", 1, Duration.ofMinutes(15), Duration.ofHours(1), reasons);
    }

    private static List<String> reasons(StatementAnalysis statement, PolicyRule rule) {
        List<String> out = new ArrayList<>();
        for (Finding f : statement.findings()) {
            out.add(f.category() + ": " + f.reason());
        }
        if (out.isEmpty()) {
            out.add(rule == null ? "no policy rule matched this statement (held: the policy fails closed)"
                    : "matched policy rule '" + rule.name() + "'");
        }
        return out;
    }

    private static PolicyDecision.Hold strictest(List<PolicyDecision.Hold> holds) {
        PolicyDecision.Hold top = holds.get(0);
        int quorum = top.quorum();
        Duration timeout = top.timeout();
        Duration validity = top.validity();
        Set<String> reasons = new LinkedHashSet<>();
        for (PolicyDecision.Hold h : holds) {
            if (h.tier().compareTo(top.tier()) > 0 || (h.tier() == top.tier() && h.quorum() > top.quorum())) {
                top = h;
            }
            quorum = Math.max(quorum, h.quorum());
            timeout = h.timeout().compareTo(timeout) < 0 ? h.timeout() : timeout;
            validity = h.validity().compareTo(validity) < 0 ? h.validity() : validity;
            reasons.addAll(h.reasons());
        }
        return new PolicyDecision.Hold(top.rule(), top.tier(), top.reviewerGroup(), quorum, timeout, validity,
                List.copyOf(reasons));
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
