package io.countersign.approvals.policy;

import io.countersign.analysis.Finding;
import io.countersign.analysis.StatementAnalysis;
import java.util.Collection;
import java.util.stream.Collectors;

/** Renders what the policy makes of a statement, for people writing policies ({@code countersign policy check}). */
public final class PolicyCheck {

    private PolicyCheck() {}

    public static String render(PolicyEngine policy, StatementFacts facts) {
        return render(facts, policy.decide(facts), policy);
    }

    public static String render(StatementFacts facts, PolicyDecision decision, PolicyEngine policy) {
        StringBuilder out = new StringBuilder();
        out.append("agent:    ").append(facts.agent());
        if (!facts.agentGroups().isEmpty()) {
            out.append(" (groups: ").append(sorted(facts.agentGroups())).append(')');
        }
        out.append('\n');
        out.append("database: ").append(facts.database().isEmpty() ? "(any)" : facts.database()).append('\n');
        if (policy != null) {
            out.append("policy:   ").append(policy.source()).append(" sha256 ").append(policy.sha256()).append('\n');
        }
        int n = 1;
        for (StatementAnalysis s : facts.statements()) {
            out.append('\n').append("statement ").append(n++).append(": ").append(s.sql().strip()).append('\n');
            out.append("  kind:        ").append(s.kind()).append('\n');
            out.append("  fingerprint: ").append(s.fingerprint()).append('\n');
            line(out, "tables read", s.tablesRead());
            line(out, "tables written", s.tablesWritten());
            line(out, "columns read", s.columnsRead());
            line(out, "columns written", s.columnsWritten());
            line(out, "functions", s.functions());
            out.append("  settled by:  ").append(s.settledBy()).append('\n');
            if (s.findings().isEmpty()) {
                out.append("  findings:    none\n");
            } else {
                out.append("  findings:\n");
                for (Finding f : s.findings()) {
                    out.append("    - ").append(f.category()).append(": ").append(f.reason()).append('\n');
                }
            }
        }
        out.append('\n').append("decision: ");
        switch (decision) {
            case PolicyDecision.Allow a -> out.append("ALLOW (rule ").append(a.rule()).append(")\n");
            case PolicyDecision.Deny d -> out.append("DENY (rule ").append(d.rule()).append("): ").append(d.reason()).append('\n');
            case PolicyDecision.Hold h -> {
                out.append("HOLD (rule ").append(h.rule()).append(")\n");
                out.append("  tier:      ").append(h.tier().name().toLowerCase()).append('\n');
                out.append("  reviewers: ").append(h.reviewerGroup()).append(", quorum ").append(h.quorum()).append('\n');
                out.append("  timeout:   ").append(h.timeout()).append(", approval valid for ").append(h.validity()).append('\n');
                out.append("  reasons:\n");
                h.reasons().forEach(r -> out.append("    - ").append(r).append('\n'));
            }
        }
        return out.toString();
    }

    private static void line(StringBuilder out, String label, Collection<String> values) {
        if (!values.isEmpty()) {
            out.append("  ").append(String.format("%-12s ", label + ":")).append(sorted(values)).append('\n');
        }
    }

    private static String sorted(Collection<String> values) {
        return values.stream().sorted().collect(Collectors.joining(", "));
    }
}
