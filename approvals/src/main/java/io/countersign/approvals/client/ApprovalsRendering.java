package io.countersign.approvals.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Decision;
import io.countersign.approvals.Grant;
import io.countersign.approvals.rest.ApprovalJson;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Text tables and JSON for the CLI. */
public final class ApprovalsRendering {

    private ApprovalsRendering() {}

    public static String requestsTable(List<ApprovalRequest> requests, Instant now) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ID", "STATE", "AGENT", "DATABASE", "TIER", "AGE", "APPROVALS", "SQL"});
        for (ApprovalRequest r : requests) {
            rows.add(new String[] {r.id(), lower(r.state()), r.agent(), r.database(), lower(r.tier()),
                    age(Duration.between(r.created(), now)), r.approvals() + "/" + r.quorum(), oneLine(r.sql(), 60)});
        }
        return table(rows);
    }

    public static String requestDetail(ApprovalRequest r) {
        StringBuilder out = new StringBuilder();
        out.append("request:    ").append(r.id()).append('\n');
        out.append("state:      ").append(lower(r.state()));
        if (!r.stateReason().isEmpty()) {
            out.append(" (").append(r.stateReason()).append(')');
        }
        out.append('\n');
        out.append("agent:      ").append(r.agent()).append(" (owner ").append(r.owner().isEmpty() ? "none" : r.owner()).append(")\n");
        out.append("database:   ").append(r.database()).append("  client ").append(r.clientAddress()).append('\n');
        out.append("tier:       ").append(lower(r.tier())).append(", rule ").append(r.rule()).append(", reviewers ")
                .append(r.reviewerGroup()).append(", quorum ").append(r.quorum()).append('\n');
        out.append("created:    ").append(r.created()).append(", expires ").append(r.expires()).append('\n');
        out.append("sql:        ").append(r.sql().strip()).append('\n');
        for (int i = 0; i < r.parameters().size(); i++) {
            out.append("  $").append(i + 1).append(" = ").append(r.parameters().get(i)).append('\n');
        }
        if (!r.sensitiveColumns().isEmpty()) {
            out.append("sensitive:  ").append(String.join(", ", r.sensitiveColumns())).append('\n');
        }
        out.append("reasons:\n");
        r.reasons().forEach(reason -> out.append("  - ").append(reason).append('\n'));
        if (!r.decisions().isEmpty()) {
            out.append("decisions:\n");
            for (Decision d : r.decisions()) {
                out.append("  - ").append(d.at()).append(' ').append(d.reviewer()).append(' ').append(lower(d.verdict()))
                        .append(" via ").append(lower(d.channel()));
                if (!d.comment().isEmpty()) {
                    out.append(": ").append(d.comment());
                }
                out.append('\n');
            }
        }
        return out.toString();
    }

    public static String grantsTable(List<Grant> grants, Instant now) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ID", "AGENT", "DATABASE", "BY", "EXPIRES", "STATUS", "FINGERPRINT"});
        for (Grant g : grants) {
            String status = g.revoked() != null ? "revoked by " + g.revokedBy() : g.activeAt(now) ? "active" : "expired";
            rows.add(new String[] {g.id(), g.agent(), g.database(), g.createdBy(), g.expires().toString(), status,
                    oneLine(g.fingerprint(), 60)});
        }
        return table(rows);
    }

    public static String requestsJson(List<ApprovalRequest> requests) {
        ArrayNode a = ApprovalJson.MAPPER.createArrayNode();
        requests.forEach(r -> a.add(ApprovalJson.request(r)));
        return pretty(a);
    }

    public static String requestJson(ApprovalRequest r) {
        return pretty(ApprovalJson.request(r));
    }

    public static String grantsJson(List<Grant> grants) {
        ArrayNode a = ApprovalJson.MAPPER.createArrayNode();
        grants.forEach(g -> a.add(ApprovalJson.grant(g)));
        return pretty(a);
    }

    private static String pretty(Object node) {
        try {
            return ApprovalJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String table(List<String[]> rows) {
        int[] widths = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                out.append(i == row.length - 1 ? row[i] : String.format("%-" + widths[i] + "s  ", row[i]));
            }
            out.append('\n');
        }
        return out.toString();
    }

    static String age(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return (s / 60) + "m" + (s % 60) + "s";
        }
        if (s < 86400) {
            return (s / 3600) + "h" + ((s % 3600) / 60) + "m";
        }
        return (s / 86400) + "d" + ((s % 86400) / 3600) + "h";
    }

    private static String oneLine(String s, int max) {
        String line = s.strip().replaceAll("\\s+", " ");
        return line.length() > max ? line.substring(0, max - 3) + "..." : line;
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
