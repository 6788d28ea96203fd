package io.countersign.approvals.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.approvals.ApprovalEvent;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Channel;
import io.countersign.approvals.Decision;
import io.countersign.approvals.Grant;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.policy.Tier;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The JSON shape of requests, grants and events on the REST API, written out field by field so that
 * the wire format is a decision made here and not a side effect of renaming a record component.
 * Times are ISO-8601 UTC strings; enums are lower-case.
 */
public final class ApprovalJson {

    public static final ObjectMapper MAPPER = new ObjectMapper();

    private ApprovalJson() {}

    public static ObjectNode request(ApprovalRequest r) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("id", r.id());
        n.put("state", lower(r.state()));
        n.put("stateReason", r.stateReason());
        n.put("agent", r.agent());
        n.put("owner", r.owner());
        n.put("database", r.database());
        n.put("clientAddress", r.clientAddress());
        n.put("sql", r.sql());
        strings(n.putArray("parameters"), r.parameters());
        strings(n.putArray("reasons"), r.reasons());
        strings(n.putArray("sensitiveColumns"), r.sensitiveColumns());
        n.put("tier", lower(r.tier()));
        n.put("rule", r.rule());
        n.put("quorum", r.quorum());
        n.put("approvals", r.approvals());
        n.put("reviewerGroup", r.reviewerGroup());
        n.put("approvalValiditySeconds", r.approvalValidity().toSeconds());
        n.put("fingerprint", r.fingerprint());
        n.put("bindingHash", r.bindingHash());
        n.put("created", r.created().toString());
        n.put("expires", r.expires().toString());
        n.put("approvedUntil", r.approvedUntil() == null ? null : r.approvedUntil().toString());
        n.put("ticket", r.ticket());
        n.put("replica", r.replica());
        n.put("version", r.version());
        ArrayNode decisions = n.putArray("decisions");
        for (Decision d : r.decisions()) {
            ObjectNode dn = decisions.addObject();
            dn.put("reviewer", d.reviewer());
            dn.put("verdict", lower(d.verdict()));
            dn.put("comment", d.comment());
            dn.put("at", d.at().toString());
            dn.put("channel", lower(d.channel()));
            dn.put("auth", d.auth().label());
        }
        return n;
    }

    private static io.countersign.approvals.ReviewerAuth auth(String label) {
        for (io.countersign.approvals.ReviewerAuth a : io.countersign.approvals.ReviewerAuth.values()) {
            if (a.label().equals(label)) {
                return a;
            }
        }
        return io.countersign.approvals.ReviewerAuth.UNRECORDED;
    }

    public static ApprovalRequest request(JsonNode n) {
        List<Decision> decisions = new ArrayList<>();
        for (JsonNode d : n.path("decisions")) {
            decisions.add(new Decision(d.path("reviewer").asText(), Verdict.valueOf(upper(d, "verdict")), d.path("comment").asText(),
                    Instant.parse(d.path("at").asText()), Channel.valueOf(upper(d, "channel")), auth(d.path("auth").asText())));
        }
        return new ApprovalRequest(n.path("id").asText(), n.path("version").asLong(), n.path("agent").asText(),
                n.path("owner").asText(), n.path("database").asText(), n.path("clientAddress").asText(), n.path("sql").asText(),
                strings(n.path("parameters")), strings(n.path("reasons")), strings(n.path("sensitiveColumns")),
                Tier.valueOf(upper(n, "tier")), n.path("rule").asText(), n.path("quorum").asInt(), n.path("reviewerGroup").asText(),
                Duration.ofSeconds(n.path("approvalValiditySeconds").asLong()), n.path("fingerprint").asText(),
                n.path("bindingHash").asText(), Instant.parse(n.path("created").asText()), Instant.parse(n.path("expires").asText()),
                RequestState.valueOf(upper(n, "state")), n.path("stateReason").asText(), instant(n.path("approvedUntil")),
                n.path("ticket").asBoolean(), n.path("replica").asText(), decisions);
    }

    public static ObjectNode grant(Grant g) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("id", g.id());
        n.put("agent", g.agent());
        n.put("database", g.database());
        n.put("fingerprint", g.fingerprint());
        n.put("createdBy", g.createdBy());
        n.put("created", g.created().toString());
        n.put("expires", g.expires().toString());
        n.put("requestId", g.requestId());
        n.put("revoked", g.revoked() == null ? null : g.revoked().toString());
        n.put("revokedBy", g.revokedBy());
        n.put("active", g.activeAt(Instant.now()));
        return n;
    }

    public static Grant grant(JsonNode n) {
        return new Grant(n.path("id").asText(), n.path("agent").asText(), n.path("database").asText(), n.path("fingerprint").asText(),
                n.path("createdBy").asText(), Instant.parse(n.path("created").asText()), Instant.parse(n.path("expires").asText()),
                n.path("requestId").isNull() ? null : n.path("requestId").asText(), instant(n.path("revoked")),
                n.path("revokedBy").isNull() || n.path("revokedBy").isMissingNode() ? null : n.path("revokedBy").asText());
    }

    /** An event for the live stream: {@code {"type": "...", "request": {...}}} or {@code "grant"}. */
    public static ObjectNode event(ApprovalEvent e) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("type", e.getClass().getSimpleName());
        switch (e) {
            case ApprovalEvent.RequestCreated c -> n.set("request", request(c.request()));
            case ApprovalEvent.DecisionRecorded d -> n.set("request", request(d.request()));
            case ApprovalEvent.StateChanged s -> {
                n.set("request", request(s.request()));
                n.put("previous", lower(s.previous()));
            }
            case ApprovalEvent.RemoteChange r -> n.set("request", request(r.request()));
            case ApprovalEvent.GrantCreated g -> n.set("grant", grant(g.grant()));
            case ApprovalEvent.GrantRevoked g -> n.set("grant", grant(g.grant()));
        }
        return n;
    }

    public static ObjectNode error(String message) {
        return MAPPER.createObjectNode().put("error", message);
    }

    private static void strings(ArrayNode a, List<String> values) {
        values.forEach(a::add);
    }

    private static List<String> strings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(v -> out.add(v.isNull() ? null : v.asText()));
        return out;
    }

    private static Instant instant(JsonNode n) {
        return n == null || n.isNull() || n.isMissingNode() ? null : Instant.parse(n.asText());
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    private static String upper(JsonNode n, String field) {
        return n.path(field).asText().toUpperCase(Locale.ROOT);
    }
}
