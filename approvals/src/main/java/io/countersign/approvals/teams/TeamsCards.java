package io.countersign.approvals.teams;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Decision;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Verdict;
import io.countersign.approvals.policy.Tier;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * Adaptive Cards for held requests. Pure functions of a request: the card is rendered whole from
 * the request's current state each time, so an update can never show a stale mix.
 *
 * <p>All text is put in {@code TextRun}s, which Teams shows as written: in a {@code TextBlock} or a
 * {@code FactSet} it would be read as Markdown, and a statement (which the agent controls) or a
 * reviewer's comment could then render links or fake emphasis.
 */
public final class TeamsCards {

    public static final String CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";
    /** {@code Action.Execute} verbs; the card's data carries the request id. */
    public static final String APPROVE = "countersign_approve";
    public static final String DENY = "countersign_deny";
    /** The deny form's input; Teams merges it into the action's data. */
    public static final String REASON_INPUT = "reason";
    public static final String REQUEST_ID = "requestId";

    static final int SQL_LIMIT = 4000;
    static final int PARAMS_LIMIT = 1500;
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TeamsSettings settings;

    public TeamsCards(TeamsSettings settings) {
        this.settings = settings;
    }

    /** Short text for notifications and screen readers. */
    public String summary(ApprovalRequest r) {
        return "Countersign: " + r.agent() + " on " + r.database() + " waits for approval (" + lower(r.tier()) + " tier, request "
                + r.id() + ") - " + status(r);
    }

    /**
     * The card. In bot mode a pending request gets Approve and Deny (with a required reason);
     * in webhook mode, and once the request is final, only the link to the console.
     */
    public ObjectNode card(ApprovalRequest r) {
        ObjectNode card = JSON.createObjectNode().put("type", "AdaptiveCard")
                .put("$schema", "http://adaptivecards.io/schemas/adaptive-card.json").put("version", "1.4")
                .put("fallbackText", summary(r));
        card.putObject("msteams").put("width", "Full");
        ArrayNode body = card.putArray("body");
        run(richText(body, "heading"), icon(r.state()) + " " + r.agent() + " wants to run a statement on " + r.database())
                .put("size", "Medium").put("weight", "Bolder");

        // Facts as text runs rather than a FactSet, whose values Teams would read as Markdown.
        fact(body, "Agent", r.agent());
        fact(body, "Owner", r.owner().isBlank() ? "none" : r.owner());
        fact(body, "Database", r.database());
        fact(body, "Tier", lower(r.tier()) + (r.tier() == Tier.CRITICAL ? " \u26a0\ufe0f" : ""));
        fact(body, "Reviewers", r.reviewerGroup() + " (" + r.quorum() + (r.quorum() == 1 ? " approval" : " approvals") + ")");
        fact(body, "Expires", WHEN.format(r.expires()));
        fact(body, "Request", r.id());

        ArrayNode why = richText(body, "why");
        run(why, "Why it is held").put("weight", "Bolder");
        run(why, " (rule " + r.rule() + ")");
        for (String reason : r.reasons()) {
            ArrayNode line = richText(body, null);
            run(line, "\u2022 " + reason);
        }
        if (!r.sensitiveColumns().isEmpty()) {
            ArrayNode cols = richText(body, "sensitive");
            run(cols, "Sensitive columns: ").put("weight", "Bolder");
            run(cols, String.join(", ", r.sensitiveColumns())).put("fontType", "Monospace").put("color", "Attention");
        }

        String link = settings.consoleLink(r.id());
        ObjectNode sqlContainer = body.addObject().put("type", "Container").put("style", "emphasis").put("id", "sql");
        ArrayNode sql = richText(sqlContainer.putArray("items"), null);
        run(sql, cut(r.sql(), SQL_LIMIT)).put("fontType", "Monospace");
        if (r.sql().length() > SQL_LIMIT) {
            ArrayNode note = richText(body, null);
            run(note, "Statement cut at " + SQL_LIMIT + " of " + r.sql().length() + " characters; "
                    + (link.isEmpty() ? "the console shows it whole." : "open the console for the full statement."))
                    .put("italic", true).put("isSubtle", true);
        }

        if (!r.parameters().isEmpty()) {
            StringBuilder params = new StringBuilder();
            for (int i = 0; i < r.parameters().size(); i++) {
                String p = r.parameters().get(i);
                params.append(i == 0 ? "" : ", ").append('$').append(i + 1).append(" = ").append(p == null ? "NULL" : "'" + p + "'");
            }
            ArrayNode line = richText(body, "parameters");
            run(line, "Parameters: ").put("weight", "Bolder");
            run(line, cut(params.toString(), PARAMS_LIMIT)).put("fontType", "Monospace");
        }

        ArrayNode status = richText(body, "status");
        run(status, status(r)).put("weight", "Bolder").put("color", color(r.state()));
        if (!r.clientAddress().isBlank()) {
            run(status, "  \u00b7  from " + r.clientAddress()).put("isSubtle", true);
        }

        ArrayNode actions = card.putArray("actions");
        if (r.state() == RequestState.PENDING && settings.botMode()) {
            execute(actions, "Approve", APPROVE, r.id()).put("style", "positive");
            ObjectNode deny = actions.addObject().put("type", "Action.ShowCard").put("title", "Deny\u2026");
            ObjectNode form = deny.putObject("card").put("type", "AdaptiveCard").put("version", "1.4");
            form.putArray("body").addObject().put("type", "Input.Text").put("id", REASON_INPUT).put("isMultiline", true)
                    .put("isRequired", true).put("maxLength", 2000).put("label", "Reason (sent to the agent and kept in the audit)")
                    .put("placeholder", "e.g. reads every customer's e-mail; filter by id instead")
                    .put("errorMessage", "A denial needs a reason: the agent's owner reads it to learn why");
            execute(form.putArray("actions"), "Deny", DENY, r.id()).put("style", "destructive");
        }
        if (!link.isEmpty()) {
            actions.addObject().put("type", "Action.OpenUrl").put("title", "Open in the console").put("url", link);
        }
        return card;
    }

    /** The card as a message attachment. */
    public ObjectNode attachment(ApprovalRequest r) {
        ObjectNode a = JSON.createObjectNode().put("contentType", CONTENT_TYPE);
        a.set("content", card(r));
        return a;
    }

    /** A Bot Framework message activity carrying the card (posted to a conversation, or PUT over an earlier one). */
    public ObjectNode activity(ApprovalRequest r) {
        ObjectNode activity = JSON.createObjectNode().put("type", "message").put("summary", summary(r));
        activity.putArray("attachments").add(attachment(r));
        return activity;
    }

    /**
     * What a Workflows webhook ("post to a channel when a webhook request is received") and a
     * classic incoming webhook both accept: a message with the card as its one attachment.
     */
    public ObjectNode webhookMessage(ApprovalRequest r) {
        ObjectNode m = JSON.createObjectNode().put("type", "message");
        m.putArray("attachments").add(JSON.createObjectNode().put("contentType", CONTENT_TYPE).putNull("contentUrl")
                .set("content", card(r)));
        return m;
    }

    /** One line saying where the request stands: progress, or who ended it and why. */
    public String status(ApprovalRequest r) {
        List<Decision> approvals = r.decisions().stream().filter(d -> d.verdict() == Verdict.APPROVE).toList();
        String approvers = String.join(", ", approvals.stream().map(Decision::reviewer).distinct().toList());
        return switch (r.state()) {
            case PENDING -> approvals.isEmpty()
                    ? "Waiting for " + r.quorum() + (r.quorum() == 1 ? " approval" : " approvals") + " from " + r.reviewerGroup()
                    : r.approvals() + " of " + r.quorum() + " approvals: " + approvers;
            case APPROVED -> "Approved by " + approvers + commentOf(approvals)
                    + (r.ticket() ? " (the agent may now send the statement again)" : "");
            case DENIED -> {
                Decision denial = lastDenial(r);
                yield "Denied by " + (denial == null ? "a reviewer" : denial.reviewer()) + ": " + r.stateReason();
            }
            case EXPIRED -> "Expired: " + r.stateReason();
            case WITHDRAWN -> "Withdrawn: " + r.stateReason();
            case ABANDONED -> "Abandoned: " + r.stateReason();
            case EXECUTED -> "Executed" + (approvers.isEmpty() ? "" : " (approved by " + approvers + ")");
        };
    }

    private static ObjectNode execute(ArrayNode actions, String title, String verb, String requestId) {
        ObjectNode a = actions.addObject().put("type", "Action.Execute").put("title", title).put("verb", verb);
        a.putObject("data").put(REQUEST_ID, requestId);
        return a;
    }

    private static void fact(ArrayNode body, String title, String value) {
        ArrayNode line = richText(body, null);
        run(line, title + ": ").put("weight", "Bolder");
        run(line, value);
    }

    /** A block of text runs; {@code id} (nullable) lets tests and readers find it. */
    private static ArrayNode richText(ArrayNode body, String id) {
        ObjectNode block = body.addObject().put("type", "RichTextBlock").put("spacing", "Small");
        if (id != null) {
            block.put("id", id);
        }
        return block.putArray("inlines");
    }

    private static ObjectNode run(ArrayNode inlines, String text) {
        return inlines.addObject().put("type", "TextRun").put("text", text);
    }

    private static String commentOf(List<Decision> approvals) {
        String comments = String.join("; ", approvals.stream().map(Decision::comment).filter(c -> !c.isBlank()).toList());
        return comments.isEmpty() ? "" : " (" + comments + ")";
    }

    private static Decision lastDenial(ApprovalRequest r) {
        for (int i = r.decisions().size() - 1; i >= 0; i--) {
            if (r.decisions().get(i).verdict() == Verdict.DENY) {
                return r.decisions().get(i);
            }
        }
        return null;
    }

    private static String icon(RequestState s) {
        return switch (s) {
            case PENDING -> "\ud83d\udd12";
            case APPROVED, EXECUTED -> "\u2705";
            case DENIED -> "\u26d4";
            case EXPIRED -> "\u23f0";
            case WITHDRAWN, ABANDONED -> "\u21a9\ufe0f";
        };
    }

    private static String color(RequestState s) {
        return switch (s) {
            case PENDING -> "Warning";
            case APPROVED, EXECUTED -> "Good";
            case DENIED -> "Attention";
            case EXPIRED, WITHDRAWN, ABANDONED -> "Default";
        };
    }

    static String cut(String s, int limit) {
        return s.length() <= limit ? s : s.substring(0, limit - 1) + "\u2026";
    }

    private static String lower(Tier t) {
        return t.name().toLowerCase(Locale.ROOT);
    }
}
