package io.countersign.approvals.slack;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Decision;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.Verdict;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Block Kit JSON for requests and modals. Pure functions of a request: the message is rendered
 * whole from the request's current state each time, so an update can never show a stale mix.
 */
public final class SlackMessages {

    public static final String APPROVE = "countersign_approve";
    public static final String DENY = "countersign_deny";
    public static final String GRANT = "countersign_grant";
    public static final String CONSOLE = "countersign_console";
    public static final String DENY_MODAL = "countersign_deny_modal";
    public static final String APPROVE_MODAL = "countersign_approve_modal";
    public static final String COMMENT_BLOCK = "comment";
    public static final String COMMENT_INPUT = "comment_input";
    public static final String ACTIONS_BLOCK = "countersign_actions";

    /** Section text is limited to 3000 characters by Slack; leave room for the fence and the note. */
    static final int SQL_LIMIT = 2600;
    static final int PARAMS_LIMIT = 1500;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final SlackSettings settings;
    /** Reviewer name to how Slack shows them: {@code <@U123>} when their Slack id is known, else the name. */
    private final Function<String, String> mention;

    public SlackMessages(SlackSettings settings, Function<String, String> mention) {
        this.settings = settings;
        this.mention = mention;
    }

    /** The notification's fallback text (notifications, screen readers). */
    public String text(ApprovalRequest r) {
        return "Countersign: " + r.agent() + " on " + r.database() + " waits for approval (" + lower(r.tier().name()) + " tier, request "
                + r.id() + ") - " + status(r);
    }

    public String blocks(ApprovalRequest r) {
        return blockArray(r).toString();
    }

    ArrayNode blockArray(ApprovalRequest r) {
        ArrayNode blocks = JSON.createArrayNode();
        blocks.add(header(icon(r.state()) + " " + r.agent() + " wants to run a statement on " + r.database()));

        ObjectNode facts = blocks.addObject().put("type", "section");
        ArrayNode fields = facts.putArray("fields");
        field(fields, "Agent", escape(r.agent()));
        field(fields, "Owner", r.owner().isBlank() ? "none" : escape(r.owner()));
        field(fields, "Database", escape(r.database()));
        field(fields, "Tier", lower(r.tier().name()) + (r.tier().name().equals("CRITICAL") ? " :rotating_light:" : ""));
        field(fields, "Reviewers", escape(r.reviewerGroup()) + " (" + r.quorum() + (r.quorum() == 1 ? " approval" : " approvals") + ")");
        field(fields, "Expires", date(r.expires()));

        StringBuilder why = new StringBuilder("*Why it is held* (rule `").append(escape(r.rule())).append("`)");
        for (String reason : r.reasons()) {
            why.append("\n\u2022 ").append(escape(reason));
        }
        if (!r.sensitiveColumns().isEmpty()) {
            why.append("\n*Sensitive columns:* ");
            why.append(String.join(", ", r.sensitiveColumns().stream().map(c -> "`" + escape(c) + "`").toList()));
        }
        section(blocks, why.toString());

        String sql = r.sql();
        String link = settings.consoleLink(r.id());
        StringBuilder sqlText = new StringBuilder("```").append(escape(cut(sql, SQL_LIMIT))).append("```");
        if (sql.length() > SQL_LIMIT) {
            sqlText.append("\n_Statement cut at ").append(SQL_LIMIT).append(" of ").append(sql.length()).append(" characters");
            sqlText.append(link.isEmpty() ? "; the console shows it whole._" : ": <" + link + "|full statement in the console>._");
        }
        section(blocks, sqlText.toString());

        if (!r.parameters().isEmpty()) {
            StringBuilder params = new StringBuilder("*Parameters:* ");
            for (int i = 0; i < r.parameters().size(); i++) {
                String p = r.parameters().get(i);
                params.append(i == 0 ? "" : ", ").append("`$").append(i + 1).append("` = ")
                        .append(p == null ? "NULL" : "`" + escape(p) + "`");
            }
            section(blocks, cut(params.toString(), PARAMS_LIMIT));
        }

        ObjectNode context = blocks.addObject().put("type", "context");
        context.putArray("elements").addObject().put("type", "mrkdwn").put("text", status(r)
                + "  \u00b7  request `" + r.id() + "`" + (r.clientAddress().isBlank() ? "" : " from " + escape(r.clientAddress())));

        if (r.state() == RequestState.PENDING) {
            ObjectNode actions = blocks.addObject().put("type", "actions").put("block_id", ACTIONS_BLOCK);
            ArrayNode elements = actions.putArray("elements");
            button(elements, "Approve", APPROVE, r.id()).put("style", "primary");
            button(elements, "Deny", DENY, r.id()).put("style", "danger");
            if (r.quorum() == 1) {
                // The service refuses grants for quorum rules: each such statement needs its full quorum.
                button(elements, "Approve this shape for 1 h", GRANT, r.id());
            }
            if (!link.isEmpty()) {
                button(elements, "Open in console", CONSOLE, r.id()).put("url", link);
            }
        } else if (!link.isEmpty()) {
            ObjectNode ctx = blocks.addObject().put("type", "context");
            ctx.putArray("elements").addObject().put("type", "mrkdwn").put("text", "<" + link + "|Open in the console>");
        }
        return blocks;
    }

    /** One line saying where the request stands: progress, or who ended it and why. */
    public String status(ApprovalRequest r) {
        List<Decision> approvals = r.decisions().stream().filter(d -> d.verdict() == Verdict.APPROVE).toList();
        String approvers = String.join(", ", approvals.stream().map(d -> mention.apply(d.reviewer())).distinct().toList());
        return switch (r.state()) {
            case PENDING -> approvals.isEmpty()
                    ? ":hourglass_flowing_sand: Waiting for " + r.quorum() + (r.quorum() == 1 ? " approval" : " approvals") + " from "
                            + escape(r.reviewerGroup())
                    : ":hourglass_flowing_sand: " + r.approvals() + " of " + r.quorum() + " approvals: " + approvers;
            case APPROVED -> ":white_check_mark: *Approved* by " + approvers + commentOf(approvals)
                    + (r.ticket() ? " (the agent may now send the statement again)" : "");
            case DENIED -> {
                Decision denial = lastDenial(r);
                yield ":no_entry: *Denied* by " + (denial == null ? "a reviewer" : mention.apply(denial.reviewer()))
                        + ": " + escape(r.stateReason());
            }
            case EXPIRED -> ":alarm_clock: *Expired*: " + escape(r.stateReason());
            case WITHDRAWN -> ":leftwards_arrow_with_hook: *Withdrawn* by the agent: " + escape(r.stateReason());
            case ABANDONED -> ":ghost: *Abandoned*: Countersign stopped while it waited";
            case EXECUTED -> ":white_check_mark: *Executed*" + (approvers.isEmpty() ? "" : " (approved by " + approvers + ")");
        };
    }

    /** The modal a deny click opens; {@code metadata} comes back with the submission. */
    public String denyModal(ApprovalRequest r, String metadata) {
        return modal(DENY_MODAL, "Deny statement", "Deny", "Deny *" + escape(r.agent()) + "*'s statement on *" + escape(r.database())
                + "* (request `" + r.id() + "`). The reason is sent to the agent in its error message and kept in the audit.",
                "Reason", "e.g. reads every customer's e-mail; filter by id instead", metadata);
    }

    /** The modal an approve click opens when the tier needs a comment. */
    public String approveModal(ApprovalRequest r, String metadata) {
        return modal(APPROVE_MODAL, "Approve statement", "Approve", "*" + escape(r.agent()) + "*'s statement on *"
                + escape(r.database()) + "* is " + lower(r.tier().name()) + " tier: say why it is safe to run (kept in the audit).",
                "Comment", "e.g. one-off migration, reviewed with the owner", metadata);
    }

    private static String modal(String callbackId, String title, String submit, String intro, String label, String placeholder,
            String metadata) {
        ObjectNode view = JSON.createObjectNode().put("type", "modal").put("callback_id", callbackId)
                .put("private_metadata", metadata);
        view.putObject("title").put("type", "plain_text").put("text", title);
        view.putObject("submit").put("type", "plain_text").put("text", submit);
        view.putObject("close").put("type", "plain_text").put("text", "Cancel");
        ArrayNode blocks = view.putArray("blocks");
        section(blocks, intro);
        ObjectNode input = blocks.addObject().put("type", "input").put("block_id", COMMENT_BLOCK);
        input.putObject("label").put("type", "plain_text").put("text", label);
        ObjectNode element = input.putObject("element").put("type", "plain_text_input").put("action_id", COMMENT_INPUT)
                .put("multiline", true).put("max_length", 2000);
        element.putObject("placeholder").put("type", "plain_text").put("text", placeholder);
        return view.toString();
    }

    private static ObjectNode header(String text) {
        ObjectNode h = JSON.createObjectNode().put("type", "header");
        h.putObject("text").put("type", "plain_text").put("text", cut(text, 150)).put("emoji", true);
        return h;
    }

    private static void field(ArrayNode fields, String name, String value) {
        fields.addObject().put("type", "mrkdwn").put("text", "*" + name + "*\n" + value);
    }

    private static void section(ArrayNode blocks, String mrkdwn) {
        blocks.addObject().put("type", "section").putObject("text").put("type", "mrkdwn").put("text", mrkdwn);
    }

    private static ObjectNode button(ArrayNode elements, String text, String actionId, String value) {
        ObjectNode b = elements.addObject().put("type", "button").put("action_id", actionId).put("value", value);
        b.putObject("text").put("type", "plain_text").put("text", text);
        return b;
    }

    private static String commentOf(List<Decision> approvals) {
        String comments = String.join("; ", approvals.stream().map(Decision::comment).filter(c -> !c.isBlank())
                .map(SlackMessages::escape).toList());
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
            case PENDING -> ":lock:";
            case APPROVED, EXECUTED -> ":white_check_mark:";
            case DENIED -> ":no_entry:";
            case EXPIRED -> ":alarm_clock:";
            case WITHDRAWN, ABANDONED -> ":leftwards_arrow_with_hook:";
        };
    }

    /** Slack's date token: shown in the reader's time zone, with the UTC instant as fallback text. */
    static String date(Instant at) {
        return "<!date^" + at.getEpochSecond() + "^{date_short_pretty} {time}|" + at + ">";
    }

    /** mrkdwn needs only these three escaped; everything else is shown as written. */
    static String escape(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    static String cut(String s, int limit) {
        return s.length() <= limit ? s : s.substring(0, limit - 1) + "\u2026";
    }

    private static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
