package io.countersign.approvals.teams;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.ApprovalService;
import io.countersign.approvals.Channel;
import io.countersign.approvals.DecisionRefusedException;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.Verdict;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the bot does with an authenticated activity. An {@code invoke} named
 * {@code adaptiveCard/action} with verb Approve or Deny becomes a decision through
 * {@link ApprovalService#decide}, which alone applies the rules (group, quorum, no self-approval,
 * no agent identities, a denial needs a reason); the invoke is answered with the card as it now
 * stands, and the notifier replaces the posted card for everyone. A refusal is answered with an
 * Adaptive Card error whose message says why, and decides nothing.
 */
public final class TeamsBot {

    private static final Logger LOG = LoggerFactory.getLogger(TeamsBot.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String ADAPTIVE_CARD_ACTION = "adaptiveCard/action";

    /** The HTTP answer to an activity: a status and, for invokes, the invoke response body. */
    public record Reply(int status, JsonNode body) {
        static Reply ok() {
            return new Reply(200, null);
        }
    }

    private final ApprovalService service;
    private final TeamsNotifier notifier;
    private final TeamsReviewers reviewers;
    private final TeamsSettings settings;

    public TeamsBot(ApprovalService service, TeamsNotifier notifier, TeamsReviewers reviewers, TeamsSettings settings) {
        this.service = service;
        this.notifier = notifier;
        this.reviewers = reviewers;
        this.settings = settings;
    }

    /** Handles one activity whose token {@link BotAuthenticator} accepted. */
    public Reply handle(JsonNode activity) {
        String type = activity.path("type").asText("");
        String conversation = activity.path("conversation").path("id").asText("");
        String serviceUrl = activity.path("serviceUrl").asText("");
        if (settings.tenantId() != null) {
            String tenant = activity.path("channelData").path("tenant").path("id")
                    .asText(activity.path("conversation").path("tenantId").asText(""));
            if (!settings.tenantId().equalsIgnoreCase(tenant)) {
                LOG.warn("teams: refused an activity from tenant '{}' (teams.tenant-id is {})", tenant, settings.tenantId());
                return new Reply(403, null);
            }
        }
        if (!conversation.isEmpty() && !serviceUrl.isEmpty()) {
            notifier.rememberServiceUrl(conversation, serviceUrl);
        }
        if (!type.equals("invoke")) {
            return Reply.ok();   // messages, installs and membership changes need no answer
        }
        if (!ADAPTIVE_CARD_ACTION.equals(activity.path("name").asText())) {
            return new Reply(501, null);
        }
        JsonNode action = activity.path("value").path("action");
        String verb = action.path("verb").asText("");
        String requestId = action.path("data").path(TeamsCards.REQUEST_ID).asText("");
        Verdict verdict = switch (verb) {
            case TeamsCards.APPROVE -> Verdict.APPROVE;
            case TeamsCards.DENY -> Verdict.DENY;
            default -> null;
        };
        if (verdict == null || requestId.isEmpty()) {
            return error(400, "BadRequest", "Countersign does not know the action '" + verb + "'; nothing was decided.");
        }
        JsonNode from = activity.path("from");
        TeamsReviewers.TeamsUser user = new TeamsReviewers.TeamsUser(from.path("id").asText(""), from.path("aadObjectId").asText(""),
                from.path("name").asText(""), conversation, serviceUrl);
        Reviewer reviewer;
        switch (reviewers.resolve(user)) {
            case TeamsReviewers.Mapped m -> reviewer = m.reviewer();
            case TeamsReviewers.Unmapped u -> {
                return error(400, "BadRequest", u.reason());
            }
        }
        Optional<ApprovalRequest> current = service.request(requestId);
        if (current.isEmpty()) {
            return error(400, "BadRequest", "Countersign has no request " + requestId + "; nothing was decided.");
        }
        String cardId = activity.path("replyToId").asText("");
        if (!cardId.isEmpty() && !conversation.isEmpty() && !current.get().state().isFinal()) {
            notifier.adopt(current.get(), new TeamsNotifier.CardRef(serviceUrl, conversation, cardId));
        }
        String reason = action.path("data").path(TeamsCards.REASON_INPUT).asText("");
        try {
            ApprovalRequest after = service.decide(requestId, reviewer, verdict, reason, Channel.TEAMS);
            LOG.info("teams: {} {} request {}", reviewer.name(), verdict == Verdict.APPROVE ? "approved" : "denied", requestId);
            return card(after);
        } catch (DecisionRefusedException e) {
            return error(400, "BadRequest", "Not recorded: " + e.getMessage() + ".");
        } catch (RuntimeException e) {
            LOG.warn("teams: deciding {} for {} failed", requestId, reviewer.name(), e);
            return error(500, "InternalServerError", "Countersign could not record your decision (" + e.getMessage()
                    + "); nothing was decided, try again or use the console.");
        }
    }

    /** An invoke response that replaces the card with {@code r}'s current state. */
    private Reply card(ApprovalRequest r) {
        ObjectNode body = JSON.createObjectNode().put("statusCode", 200).put("type", TeamsCards.CONTENT_TYPE);
        body.set("value", notifier.cards().card(r));
        return new Reply(200, body);
    }

    /** An Adaptive Card invoke error: Teams shows {@code message} to the user who clicked. */
    private static Reply error(int statusCode, String code, String message) {
        ObjectNode body = JSON.createObjectNode().put("statusCode", statusCode).put("type", "application/vnd.microsoft.error");
        body.putObject("value").put("code", code).put("message", message);
        return new Reply(200, body);
    }
}
